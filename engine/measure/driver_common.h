/*
 * What the workload drivers share (engine/measure/driver.c, engine/calibrate/msg.c,
 * engine/calibrate/switch.c): a monotonic clock and pinning to one CPU.  Included by
 * each; engine.measure.run.build_c puts this folder on the include path and hashes this
 * file with the driver's source, so a change here rebuilds every driver.
 */
#ifndef BULKSIM_DRIVER_COMMON_H
#define BULKSIM_DRIVER_COMMON_H

#include <sched.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Pin the calling process to `cpu` (negative: the CPU it runs on now).  Returns the
 * CPU, or -1 with errno set. */
static int pin_to_cpu(int cpu)
{
	if (cpu < 0)
		cpu = sched_getcpu();
	if (cpu < 0)
		return -1;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

#endif
