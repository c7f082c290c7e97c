/* bulksim calibrate: System V messages of 4000 bytes, sent and received in a loop, to
 * force page charges on the obj stock.
 *
 *   msg SECONDS MAX_OBJECTS CPU
 *
 * Each msgsnd() allocates one msg_msg of 48 + 4000 bytes from kmalloc-cg-4k
 * (ipc/msgutil.c load_msg -> alloc_msg, inlined: kmalloc(sizeof(*msg) + alen,
 * GFP_KERNEL_ACCOUNT), one segment since 4000 <= DATALEN_MSG); the msgrcv() right after
 * frees it in the same task (ipc/msg.c do_msgrcv -> free_msg -> kfree).  An object of
 * 4 KB empties the per-CPU obj stock on almost every allocation, so the post-alloc hook
 * charges a page (obj_cgroup_charge_pages) and the free hook gives one back.  The queue
 * is private (IPC_PRIVATE) and removed at the end, also after SIGINT/SIGTERM (exit 130).
 * Prints one line "objects=N calls=M iterations=I seconds=S cpu=C" like
 * engine/measure/driver.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "driver_common.h"

#define LEN 4000

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

struct message {
	long mtype;
	char mtext[LEN];
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: msg SECONDS MAX_OBJECTS CPU\n");
		return 2;
	}
	double seconds = atof(argv[1]);
	long max_objects = atol(argv[2]);
	int cpu = atoi(argv[3]);
	cpu = pin_to_cpu(cpu);
	if (cpu < 0) {
		fprintf(stderr, "sched_setaffinity: %s\n", strerror(errno));
		return 3;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (q < 0) {
		fprintf(stderr, "msgget: %s (System V message queues unavailable?)\n", strerror(errno));
		return 3;
	}
	static struct message m;
	m.mtype = 1;
	memset(m.mtext, 'x', LEN);
	long objects = 0;
	int rc = 0;
	double t0 = now(), t = t0;
	while (!stop && objects < max_objects && t - t0 < seconds) {
		if (msgsnd(q, &m, LEN, 0)) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "msgsnd: %s\n", strerror(errno));
			rc = 3;
			break;
		}
		while (msgrcv(q, &m, LEN, 0, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "msgrcv: %s\n", strerror(errno));
				rc = 3;
				break;
			}
		}
		if (rc)
			break;
		objects++;
		if ((objects & 15) == 0)
			t = now();
	}
	msgctl(q, IPC_RMID, NULL);
	if (rc)
		return rc;
	if (stop)
		return 130;
	printf("objects=%ld calls=%ld iterations=%ld seconds=%.6f cpu=%d\n", objects, objects, objects,
	       now() - t0, cpu);
	return 0;
}
