"""tests/sass_check.py: its occupancy rules against figures the CUDA occupancy calculator gives
for sm_90, its reading of cuobjdump's output, and the whole check on a small library built
here with kernels made to pass and to fail each check (needs nvcc, cuobjdump and nvdisasm:
ACTBENCH_NVCC, ACTBENCH_CUOBJDUMP, ACTBENCH_NVDISASM or PATH; skipped without them)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sass_check  # noqa: E402  (tests/sass_check.py)

CHECKER = os.path.join(os.path.dirname(sass_check.__file__), "sass_check.py")
SM90 = sass_check.LIMITS[90]


class Occupancy(unittest.TestCase):
    def blocks(self, regs, threads, static_smem=0, dynamic_smem=0):
        return sass_check.resident_blocks(SM90, regs, static_smem, threads, dynamic_smem)

    def test_registers_bind_in_warp_granules(self):
        self.assertEqual(self.blocks(40, 256), (6, "regs"))   # 1280 registers a warp: 48 warps
        self.assertEqual(self.blocks(168, 128), (3, "regs"))  # 5376 a warp: 3 per sub-partition
        self.assertEqual(self.blocks(33, 256)[0], 6)           # 33 rounds up to 40
        self.assertEqual(self.blocks(32, 256), (8, "threads/regs"))

    def test_a_1024_thread_block_fits_only_at_64_registers_or_fewer(self):
        self.assertEqual(self.blocks(64, 1024), (1, "regs"))
        blocks, why = self.blocks(65, 1024)
        self.assertEqual(blocks, 0)
        self.assertIn("registers of a block", why)

    def test_shared_memory_counts_the_reserved_kilobyte(self):
        # Two 512-thread blocks with a 96 KB double buffer each, as softmax_online_kernel.
        self.assertEqual(self.blocks(48, 512, 1152, 98304), (2, "regs/smem"))
        # 113 KB + 1 KB reserved, twice, is 228 KB exactly; one byte more leaves one block.
        self.assertEqual(self.blocks(8, 32, 0, 113 * 1024)[0], 2)
        self.assertEqual(self.blocks(8, 32, 0, 113 * 1024 + 1)[0], 1)
        self.assertEqual(self.blocks(8, 32, 0, 228 * 1024)[0], 0)
        self.assertEqual(self.blocks(8, 32, 49 * 1024, 0)[0], 0)  # static beyond 48 KB

    def test_most_registers_that_keep_a_block_count(self):
        self.assertEqual(sass_check.max_regs_for(SM90, 0, 256, 0, 8), 32)
        self.assertEqual(sass_check.max_regs_for(SM90, 0, 1024, 0, 1), 64)
        self.assertEqual(sass_check.max_regs_for(SM90, 0, 1024, 0, 3), 0)


class Reading(unittest.TestCase):
    DUMP = """
.nv.info._Z1kPf
\t<0x1>
\tAttribute:\tEIATTR_MAX_THREADS
\tFormat:\tEIFMT_SVAL
\tValue:\t0x80 0x2 0x1 

.nv.shared._Z1kPf
Resource usage:
 Function _Z1kPf:
  REG:30 STACK:0 SHARED:1024 LOCAL:0 CONSTANT[0]:904 TEXTURE:0 SURFACE:0 SAMPLER:0
 Function _Z6helperv:
  REG:12 STACK:8 SHARED:0 LOCAL:8 CONSTANT[0]:0 TEXTURE:0 SURFACE:0 SAMPLER:0

\tcode for sm_90
\t\tFunction : _Z1kPf
        /*0000*/                   LDC R1, c[0x0][0x28] ;           /* 0x00000a00ff017b82 */
        /*0010*/               @!P0 LDG.E.128.CONSTANT R4, desc[UR4][R2.64] ;
        /*0020*/                   STG.E.EF.128 desc[UR4][R2.64], R4 ;
        /*0030*/               @P1 STG.E desc[UR4][R2.64], R4 ;
\t\tFunction : _Z6helperv
        /*0000*/                   STL [R1], R2 ;
"""

    def test_kernels_resources_and_opcodes(self):
        funcs = sass_check.parse_dump(self.DUMP)
        k, helper = funcs["_Z1kPf"], funcs["_Z6helperv"]
        self.assertTrue(k["kernel"])
        self.assertFalse(helper["kernel"])  # no .nv.info.<name>: a device function
        self.assertEqual(k["max_threads"], 256)
        self.assertEqual((k["regs"], k["shared"], k["local"]), (30, 1024, 0))
        self.assertEqual(k["ops"], ["LDC", "LDG.E.128.CONSTANT", "STG.E.EF.128", "STG.E"])
        self.assertEqual(sass_check.access_widths(k["ops"]), {"ld": [128], "st": [128, 32]})
        self.assertEqual((helper["ops"], helper["stack"]), (["STL"], 8))

    def test_widths(self):
        self.assertEqual([sass_check.width(op) for op in
                          ("LDG.E", "LDG.E.64", "LDG.E.U8", "LDGSTS.E.BYPASS.128", "STG.E.S16")],
                         [32, 64, 8, 128, 16])

    def test_short_names(self):
        self.assertEqual(sass_check.short("void actbench::(anonymous namespace)::k<4, 1>"
                                          "(float const*, int)"), "k<4, 1>")


KERNELS = r"""
__global__ void __launch_bounds__(256) vec_copy(const float4* __restrict__ x, float4* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __ldg(x + i);
}

// 1 KB of floats indexed at run time cannot live in registers: a stack frame, LDL and STL.
__global__ void __launch_bounds__(128) uses_local(float* y, int k, int n) {
  float a[256];
  for (int j = 0; j < 256; ++j) a[j] = y[j * 128 + threadIdx.x];
  for (int j = 0; j < n; ++j) a[(k * j) & 255] += a[(k + j) & 255];
  y[threadIdx.x] = a[k & 255];
}
"""


class WholeCheck(unittest.TestCase):
    """sass_check.py on a library of two kernels: what holds passes, each broken expectation fails."""

    @classmethod
    def setUpClass(cls):
        cls.tools = {name: next(filter(None, (shutil.which(c) for c in (
                         os.environ.get(f"ACTBENCH_{name.upper()}", ""), name) if c)), None)
                     for name in ("nvcc", "cuobjdump", "nvdisasm")}
        missing = [name for name, path in cls.tools.items() if not path]
        if missing:
            raise unittest.SkipTest(f"{', '.join(missing)} not found (scripts/deps.sh installs "
                                    f"cuobjdump and nvdisasm; nvcc is the CUDA toolkit's)")
        cls.tmp = tempfile.TemporaryDirectory()
        source = os.path.join(cls.tmp.name, "kernels.cu")
        with open(source, "w", encoding="utf-8") as f:
            f.write(KERNELS)
        # Compiled and linked as the project's library is: -lineinfo names the source in the ELF.
        obj = os.path.join(cls.tmp.name, "kernels.o")
        cls.lib = os.path.join(cls.tmp.name, "libkernels.so")
        for command in ([cls.tools["nvcc"], "-c", "-Xcompiler=-fPIC", "-arch=sm_90", "-lineinfo",
                         source, "-o", obj],
                        [cls.tools["nvcc"], "-shared", obj, "-o", cls.lib]):
            subprocess.run(command, check=True, capture_output=True, timeout=300)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check(self, *args):
        proc = subprocess.run(
            [sys.executable, CHECKER, "--lib", self.lib, "--source", "kernels.cu", "--arch", "90",
             "--cuobjdump", self.tools["cuobjdump"], "--nvdisasm", self.tools["nvdisasm"], *args],
            capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    def test_checks_pass_and_fail(self):
        fits = ["--fit", "vec_copy", "256", "0", "8", "--fit", "uses_local", "bounds", "0", "1"]
        rc, out = self.check("--expect", "vec_copy", r"LDG\.E\.128\.CONSTANT",
                             "--expect", "vec_copy", r"STG\.E\.128", *fits)
        self.assertEqual(rc, 1, out)
        self.assertIn("uses_local(float*, int, int): local memory (LDL, STL", out)
        self.assertNotIn("vec_copy(float4 const*, float4*, int): ", out)  # vec_copy holds

        rc, out = self.check("--expect", "vec_copy", r"STG\.E\.64", *fits)
        self.assertIn(r"no /STG\.E\.64/ among its SASS opcodes", out)

        rc, out = self.check("--fit", "vec_copy", "256", "0", "9", "--fit", "uses_local", "512", "0", "1")
        self.assertEqual(rc, 1, out)
        self.assertIn("9 block(s) of 256 threads must stay resident per SM, 8 can (threads", out)
        self.assertIn("launched with 512 threads, but its __launch_bounds__ allows 128", out)

        rc, out = self.check("--fit", "vec_copy", "256", "0", "1")
        self.assertIn("uses_local(float*, int, int): no --fit row states the block size", out)

        rc, out = self.check("--fit", "no_such_kernel", "256", "0", "1", *fits)
        self.assertIn("matches --fit /no_such_kernel/", out)


if __name__ == "__main__":
    unittest.main()
