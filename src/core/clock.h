/* Clocks for timing stages and benchmarks. */
#ifndef MD_CORE_CLOCK_H
#define MD_CORE_CLOCK_H

/* Monotonic wall-clock seconds (an arbitrary origin: use differences). */
double md_clock_wall(void);

/* CPU seconds used by this process, all threads. On a shared machine wall
 * time measures contention too; CPU time measures the work (and includes
 * lavapipe's worker threads, which run inside the process). */
double md_clock_cpu(void);

#endif
