/* bulksim calibrate --create-cgroups: open()/close() in N processes, one per cgroup,
 * taking turns on one CPU, so the per-CPU obj stock changes objcg between turns.
 *
 *   switch SECONDS MAX_OBJECTS CPU PROCS_FILE...
 *
 * Forks one child per PROCS_FILE (a cgroup's cgroup.procs); the child writes its own
 * pid there (joining that cgroup), pins itself to CPU and waits for the token.  The
 * token holder does one open("/dev/null") + close() (one struct file: a bulk-1
 * allocation and free from the accounted filp cache, fs/file_table.c
 * alloc_empty_file / __fput), then hands the token to a child drawn uniformly at
 * random (itself included: the model's cgroup_switch_prob = 1 draw, docs/model.md
 * section 3), until SECONDS have passed or MAX_OBJECTS files were opened.  The parent
 * stays in its own cgroup, only waits, and prints one line "objects=N calls=M
 * iterations=I seconds=S cpu=C" like engine/measure/driver.c.
 * SIGINT/SIGTERM: every child stops after its turn; exit 130.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver_common.h"

#define MAXP 64

struct token {
	long objects;     /* files opened so far, by all children */
	uint64_t rng;     /* xorshift64 state: who is next */
	int stop;         /* 1: finish; 2: interrupted */
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static int put(int fd, const struct token *t)
{
	return write(fd, t, sizeof(*t)) == (ssize_t)sizeof(*t) ? 0 : -1;
}

static int child(int k, int n, int pipes[][2], const char *procs, int cpu, double end,
		 long max_objects, int report)
{
	FILE *f = fopen(procs, "a");  /* O_APPEND: what echo PID >> cgroup.procs does */
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "%s: %s\n", procs, strerror(errno));
		return 3;
	}
	if (pin_to_cpu(cpu) < 0) {
		fprintf(stderr, "sched_setaffinity: %s\n", strerror(errno));
		return 3;
	}
	long mine = 0;
	struct token t;
	for (;;) {
		ssize_t r = read(pipes[k][0], &t, sizeof(t));
		if (r != (ssize_t)sizeof(t)) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		if (t.stop)  /* another child ended the run */
			break;
		{
			int fd = open("/dev/null", O_RDONLY);
			if (fd < 0) {
				fprintf(stderr, "open: %s\n", strerror(errno));
				t.stop = 2;
			} else {
				close(fd);
				mine++;
				t.objects++;
			}
			if (interrupted)
				t.stop = 2;
			else if (t.objects >= max_objects || ((t.objects & 15) == 0 && now() >= end))
				t.stop = 1;
		}
		if (t.stop) {  /* this turn ended the run: tell every other child, then leave */
			for (int j = 0; j < n; j++)
				if (j != k)
					put(pipes[j][1], &t);
			break;
		}
		t.rng ^= t.rng << 13;
		t.rng ^= t.rng >> 7;
		t.rng ^= t.rng << 17;
		if (put(pipes[t.rng % n][1], &t))
			break;
	}
	dprintf(report, "%ld %d\n", mine, t.stop);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 6 || argc - 4 > MAXP) {
		fprintf(stderr, "usage: switch SECONDS MAX_OBJECTS CPU PROCS_FILE PROCS_FILE... (2..%d)\n", MAXP);
		return 2;
	}
	double seconds = atof(argv[1]);
	long max_objects = atol(argv[2]);
	int cpu = atoi(argv[3]);
	int n = argc - 4;
	if (cpu < 0)
		cpu = sched_getcpu();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int pipes[MAXP][2], rep[2];
	if (pipe(rep))
		return 3;
	for (int k = 0; k < n; k++)
		if (pipe(pipes[k]))
			return 3;
	double t0 = now();
	pid_t pids[MAXP];
	for (int k = 0; k < n; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			return 3;
		if (pids[k] == 0)
			_exit(child(k, n, pipes, argv[4 + k], cpu, t0 + seconds, max_objects, rep[1]));
	}
	struct token t = {0, 0x9E3779B97F4A7C15ull, 0};
	put(pipes[0][1], &t);
	close(rep[1]);
	int bad = 0;
	for (int k = 0; k < n; k++) {
		int st;
		while (waitpid(pids[k], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	long objects = 0, mine;
	int stop, stopped = 0;
	FILE *r = fdopen(rep[0], "r");
	while (r && fscanf(r, "%ld %d", &mine, &stop) == 2) {
		objects += mine;
		if (stop == 2)
			stopped = 1;
	}
	if (bad)
		return 3;
	if (interrupted || stopped)
		return 130;
	printf("objects=%ld calls=%ld iterations=%ld seconds=%.6f cpu=%d\n", objects, objects, objects,
	       now() - t0, cpu);
	return 0;
}
