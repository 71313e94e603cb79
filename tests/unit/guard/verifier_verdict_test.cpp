// The verifier's log reduced to why it refused a program: what the operator
// reads in an Outcome, without the thousands of lines before the verdict.

#include <gtest/gtest.h>

#include "guard/bpf_util.h"

using reflex::guard::verifier_verdict;

namespace {

// A log_level 1 log of an XDP program that reads a packet byte unchecked.
constexpr const char* kPacketLog = R"(func#0 @0
0: R1=ctx() R10=fp0
; void *data = (void *)(long)ctx->data; @ xdp_guard.bpf.c:698
0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2_w=pkt(r=0)
1: (61) r3 = *(u32 *)(r1 +4)          ; R1=ctx() R3_w=pkt_end()
; if ((guard_variant & GUARD_VF_TEST_UNVERIFIABLE) && *(volatile __u8 *)(data + 64) == 0xff) @ xdp_guard.bpf.c:702
2: (18) r1 = 0xffffc90000b5e000       ; R1_w=map_value(map=xdp_guar.rodata,ks=4,vs=4)
4: (61) r1 = *(u32 *)(r1 +0)          ; R1_w=0x80000000
5: (71) r1 = *(u8 *)(r2 +64)
invalid access to packet, off=64 size=1, R2(id=0,off=64,r=0)
R2 offset is outside of the packet
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
)";

TEST(VerifierVerdict, NamesTheMessageTheInstructionAndItsSourceLine) {
  EXPECT_EQ(
      verifier_verdict(kPacketLog),
      "invalid access to packet, off=64 size=1, R2(id=0,off=64,r=0); R2 offset is outside of the packet "
      "(at insn 5: (71) r1 = *(u8 *)(r2 +64), source: if ((guard_variant & GUARD_VF_TEST_UNVERIFIABLE) && "
      "*(volatile __u8 *)(data + 64) == 0xff) @ xdp_guard.bpf.c:702)");
}

TEST(VerifierVerdict, AnInstructionWithItsStateLosesTheState) {
  EXPECT_EQ(verifier_verdict("; x = 1; @ a.c:3\n7: (b7) r0 = 1          ; R0_w=1\nR0 leaks addr\n"),
            "R0 leaks addr (at insn 7: (b7) r0 = 1, source: x = 1; @ a.c:3)");
}

TEST(VerifierVerdict, ALogWithoutInstructionsKeepsItsLastLines) {
  EXPECT_EQ(
      verifier_verdict("a\nb\nBPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns\n"),
      "a; b; BPF program is too large. Processed 1000001 insn");
  EXPECT_EQ(verifier_verdict(""), "");
}

TEST(VerifierVerdict, OnlyTheLastFewMessageLinesAreKept) {
  EXPECT_EQ(verifier_verdict("0: (95) exit\nm1\nm2\nm3\nm4\nm5\nm6\n"),
            "m3; m4; m5; m6 (at insn 0: (95) exit)");
}

}  // namespace
