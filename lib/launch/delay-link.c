/*
 * delay-link: network links with a fixed one-way latency, for kernels
 * without tc netem (CONFIG_NET_SCH_NETEM unset). lib/launch/netns.ts
 * compiles it with `cc` and runs one per set of hosts.
 *
 *   delay-link DELAY_US CLIENT_IP NS:OUTER [NS:OUTER ...]
 *
 * For each pair it makes two TAP devices joined by this process: "eth0"
 * inside the network namespace /run/netns/NS, and OUTER in the caller's
 * namespace (the launcher plugs it into its bridge). Every Ethernet frame
 * read from one is written to the other:
 *   - from inside to OUTER after DELAY_US microseconds (the host's way out:
 *     host A to host B costs DELAY_US once, like netem on A's egress);
 *   - from OUTER to inside at once, except IPv4 packets whose source is
 *     CLIENT_IP (the root namespace's own address, where the bench client
 *     runs), which wait DELAY_US too: the client is one more host.
 * Frames keep their order per direction (a FIFO of 4096; a full FIFO drops,
 * as a full qdisc would).
 *
 * Prints "ready" once every device exists. Exits when stdin reaches EOF (the
 * launcher died, whatever way) or on SIGTERM/SIGINT; the TAP devices are not
 * persistent, so they vanish with it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 4096
#define FRAME 2048
#define MAX_LINKS 32

struct slot { uint64_t due; uint16_t len; unsigned char data[FRAME]; };
struct fifo { struct slot *s; unsigned head, tail; int out; };

static struct fifo queues[2 * MAX_LINKS];
static int nfifo;

static uint64_t now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void die (const char *what) {
  perror(what);
  exit(1);
}

/* A TAP device named `name` in the current network namespace, non-blocking. */
static int open_tap (const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die(name);
  return fd;
}

static void flush_due (uint64_t now) {
  for (int i = 0; i < nfifo; i++) {
    struct fifo *q = &queues[i];
    while (q->head != q->tail && q->s[q->head % SLOTS].due <= now) {
      struct slot *s = &q->s[q->head % SLOTS];
      (void)!write(q->out, s->data, s->len);
      q->head++;
    }
  }
}

/* The earliest due time of any queued frame, or 0 when every FIFO is empty. */
static uint64_t next_due (void) {
  uint64_t best = 0;
  for (int i = 0; i < nfifo; i++) {
    struct fifo *q = &queues[i];
    if (q->head == q->tail) continue;
    uint64_t d = q->s[q->head % SLOTS].due;
    if (best == 0 || d < best) best = d;
  }
  return best;
}

static volatile sig_atomic_t stop;
static void on_signal (int sig) { (void)sig; stop = 1; }

int main (int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: delay-link DELAY_US CLIENT_IP NS:OUTER [NS:OUTER ...]\n");
    return 2;
  }
  uint64_t delay = strtoull(argv[1], NULL, 10) * 1000ull;
  struct in_addr client;
  if (inet_pton(AF_INET, argv[2], &client) != 1) die("CLIENT_IP");
  int links = argc - 3;
  if (links > MAX_LINKS) { fprintf(stderr, "at most %d links\n", MAX_LINKS); return 2; }

  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("/proc/self/ns/net");
  /* fds[2k]: inside (eth0 in NS k), fds[2k+1]: OUTER k. */
  int fds[2 * MAX_LINKS];
  for (int k = 0; k < links; k++) {
    char *spec = argv[3 + k];
    char *colon = strchr(spec, ':');
    if (colon == NULL) { fprintf(stderr, "%s: NS:OUTER expected\n", spec); return 2; }
    *colon = '\0';
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", spec);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) die(path);
    if (setns(ns, CLONE_NEWNET) < 0) die("setns");
    fds[2 * k] = open_tap("eth0");
    if (setns(home, CLONE_NEWNET) < 0) die("setns home");
    close(ns);
    fds[2 * k + 1] = open_tap(colon + 1);
  }
  /* queues[2k]: inside -> OUTER, queues[2k+1]: OUTER -> inside. */
  nfifo = 2 * links;
  for (int i = 0; i < nfifo; i++) {
    queues[i].s = calloc(SLOTS, sizeof(struct slot));
    if (queues[i].s == NULL) die("calloc");
    queues[i].out = fds[i ^ 1];
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  struct pollfd pfd[2 * MAX_LINKS + 1];
  for (int i = 0; i < nfifo; i++) { pfd[i].fd = fds[i]; pfd[i].events = POLLIN; }
  pfd[nfifo].fd = 0;
  pfd[nfifo].events = POLLIN;
  while (!stop) {
    uint64_t now = now_ns();
    flush_due(now);
    uint64_t due = next_due();
    struct timespec wait, *timeout = NULL;
    if (due != 0) {
      uint64_t left = due > now ? due - now : 0;
      wait.tv_sec = (time_t)(left / 1000000000ull);
      wait.tv_nsec = (long)(left % 1000000000ull);
      timeout = &wait;
    }
    if (ppoll(pfd, (nfds_t)nfifo + 1, timeout, NULL) < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if (pfd[nfifo].revents != 0) {
      char b[64];
      if (read(0, b, sizeof b) <= 0) break;
    }
    now = now_ns();
    for (int i = 0; i < nfifo; i++) {
      if ((pfd[i].revents & POLLIN) == 0) continue;
      struct fifo *q = &queues[i];
      for (int n = 0; n < 256; n++) {
        static unsigned char frame[FRAME];
        ssize_t len = read(fds[i], frame, FRAME);
        if (len <= 0) break;
        int inward = i & 1;
        /* IPv4 (ethertype 0x0800) from the client: source address at byte 26. */
        int from_client = len >= 34 && frame[12] == 0x08 && frame[13] == 0x00 && memcmp(frame + 26, &client, 4) == 0;
        if (delay == 0 || (inward && !from_client)) {
          (void)!write(q->out, frame, (size_t)len);
          continue;
        }
        if (q->tail - q->head >= SLOTS) continue; /* full: dropped */
        struct slot *s = &q->s[q->tail % SLOTS];
        memcpy(s->data, frame, (size_t)len);
        s->len = (uint16_t)len;
        s->due = now + delay;
        q->tail++;
      }
    }
  }
  return 0;
}
