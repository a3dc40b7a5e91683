/* MKL, linked into LibTorch, takes its fast kernels only where its vendor check says Intel. On an AMD CPU that has
 * AVX2 and FMA, this answer sends it to them. It is for measuring only (docs/PERFORMANCE.md, "LibTorch's MKL on AMD"):
 *   gcc -O2 -shared -fPIC -o /tmp/libintelcpu.so bench/mkl/intel_cpu_true.c
 *   LD_PRELOAD=/tmp/libintelcpu.so taskset -c 1 wesar bench torch --steps 20 --repeats 3
 * libtorch_cpu.so exports these symbols and calls them through its PLT, so a preloaded definition wins. */
int mkl_serv_intel_cpu_true(void) { return 1; }
int mkl_serv_intel_cpu(void) { return 1; }
