/* bulksim measure: the workload driver (built at run time with the system's cc).
 *
 *   driver WORKLOAD SECONDS MAX_OBJECTS CPU
 *   driver clock MILLISECONDS
 *
 * Runs one workload on CPU (pinned, -1: where it starts) until SECONDS have passed or
 * MAX_OBJECTS objects were allocated, then prints one line "objects=N calls=M
 * iterations=I seconds=S cpu=C".  Objects are counted from the syscalls that
 * succeeded, by the allocations each one makes in the kernel (docs/measure.md).
 * SIGINT/SIGTERM: the current iteration is finished and cleaned up, exit 130.
 * "clock": the best of 21 timings of a chain of dependent register-register adds (1
 * cycle each; an add of an immediate is not used: recent Intel cores fold those at
 * rename, which timed 18 GHz here):
 * prints "ghz=G".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "driver_common.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	return 3;
}

/* One ring of RING entries: RING NOPs submitted in one io_uring_enter().  A new ring's
 * request cache is empty, so io_submit_sqes() refills it RING/8 times through
 * __io_alloc_req_refill() -> kmem_cache_alloc_bulk(req_cachep, .., 8, ..). */
#define RING 256

static int uring_once(long *objects, long *calls)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = syscall(__NR_io_uring_setup, RING, &p);
	if (fd < 0)
		return fail("io_uring_setup");
	int rc = 0;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t ring_len = sq_len > cq_len ? sq_len : cq_len;
	size_t sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	char *ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			  IORING_OFF_SQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, sqe_len, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (ring == MAP_FAILED || sqes == MAP_FAILED || !(p.features & IORING_FEAT_SINGLE_MMAP)) {
		rc = fail("io_uring mmap");
		goto out;
	}
	unsigned *sq_tail = (unsigned *)(ring + p.sq_off.tail);
	unsigned *sq_array = (unsigned *)(ring + p.sq_off.array);
	unsigned *cq_head = (unsigned *)(ring + p.cq_off.head);
	unsigned *cq_tail = (unsigned *)(ring + p.cq_off.tail);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
	unsigned tail = *sq_tail;
	for (unsigned i = 0; i < RING; i++) {
		struct io_uring_sqe *e = &sqes[i];
		memset(e, 0, sizeof(*e));
		e->opcode = IORING_OP_NOP;
		e->user_data = i + 1;
		sq_array[(tail + i) & (p.sq_entries - 1)] = i;
	}
	__atomic_store_n(sq_tail, tail + RING, __ATOMIC_RELEASE);
	int n = syscall(__NR_io_uring_enter, fd, RING, RING, IORING_ENTER_GETEVENTS, NULL, 0);
	if (n != RING) {
		rc = n < 0 ? fail("io_uring_enter") : (fprintf(stderr, "io_uring_enter: %d of %d\n", n, RING), 3);
		goto out;
	}
	unsigned head = *cq_head, end = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE), done = 0;
	for (; head != end; head++)
		done += cqes[head & (p.cq_entries - 1)].res == 0;
	__atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
	if (done != RING) {
		fprintf(stderr, "io_uring: %u of %d NOPs completed\n", done, RING);
		rc = 3;
		goto out;
	}
	*objects += RING;
	*calls += RING / 8;
out:
	if (ring != MAP_FAILED)
		munmap(ring, ring_len);
	if (sqes != MAP_FAILED)
		munmap(sqes, sqe_len);
	close(fd);
	return rc;
}

/* open/close: alloc_empty_file() takes one struct file from the accounted filp cache
 * (kmem_cache_alloc, bulk 1); close() frees it in __fput() (task work, this task). */
static int open_once(long *objects, long *calls)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open /dev/null");
	close(fd);
	*objects += 1;
	*calls += 1;
	return 0;
}

/* eventfd: anon_inode_getfile() -> alloc_file_pseudo() -> d_alloc_pseudo() allocates one
 * dentry (accounted dentry cache, kmem_cache_alloc_lru); close() frees it in
 * __dentry_kill() (a pseudo dentry is DCACHE_NORCU: no RCU delay), in this task.
 * Counted: the dentry. */
static int eventfd_once(long *objects, long *calls)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return fail("eventfd");
	close(fd);
	*objects += 1;
	*calls += 1;
	return 0;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Timed in this thread's CPU time (what cpu-clock samples count), so that time the
 * task waits for the CPU on a busy machine does not count; the best of 21 short trials
 * avoids trials cut by an interrupt or a hypervisor's steal. */
static int clock_ghz(long ms)
{
	double best = 0;
	for (int t = 0; t < 21; t++) {
		long iters = 0;
		double t0 = cpu_now(), t1;
		do {
			uint64_t x = 0, one = (uint64_t)iters | 1;
			for (int k = 0; k < 1000; k++)
				__asm__ volatile(
#define A10 "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t" \
	    "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
					A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
					: "+r"(x) : "r"(one));
			iters += 1000;
			t1 = cpu_now();
		} while ((t1 - t0) * 1000 < ms);
		double ghz = iters * 100.0 / ((t1 - t0) * 1e9);
		if (ghz > best)
			best = ghz;
	}
	printf("ghz=%.4f\n", best);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "clock"))
		return clock_ghz(atol(argv[2]));
	if (argc != 5) {
		fprintf(stderr, "usage: driver WORKLOAD SECONDS MAX_OBJECTS CPU | driver clock MS\n");
		return 2;
	}
	int (*once)(long *, long *) = NULL;
	if (!strcmp(argv[1], "io_uring_nop"))
		once = uring_once;
	else if (!strcmp(argv[1], "open_close"))
		once = open_once;
	else if (!strcmp(argv[1], "eventfd_dentry"))
		once = eventfd_once;
	if (!once) {
		fprintf(stderr, "unknown workload %s\n", argv[1]);
		return 2;
	}
	double seconds = atof(argv[2]);
	long max_objects = atol(argv[3]);
	int cpu = atoi(argv[4]);
	cpu = pin_to_cpu(cpu);
	if (cpu < 0)
		return fail("sched_setaffinity");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	long objects = 0, calls = 0, iterations = 0;
	double t0 = now(), t = t0;
	while (!stop && objects < max_objects && t - t0 < seconds) {
		int rc = once(&objects, &calls);
		if (rc)
			return rc;
		iterations++;
		if ((iterations & 15) == 0)
			t = now();
	}
	if (stop)
		return 130;
	printf("objects=%ld calls=%ld iterations=%ld seconds=%.6f cpu=%d\n", objects, calls,
	       iterations, now() - t0, cpu);
	return 0;
}
