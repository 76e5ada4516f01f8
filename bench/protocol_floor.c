// What routing costs the kernel before any evaluation, in one run: each loop over its own N staged
// manifests, dropped into an inbox as the burst drops them, with nothing else (no inotify, no
// evaluation, no report to render):
//
//   rename    the floor: each file renamed into another folder, one thread;
//   minimum   what the contract itself asks of every manifest: read it, write its two reports
//             (x.report.json, x.report.txt) beside it in the outcome folder, move it there;
//   protocol  the per-manifest system calls the daemon makes with fsync off (Router: open with the
//             lease asked and given back, claim into processing/, read, free-name look-ups, two
//             report files, the stamp check, the move); the per-batch ones (journal, audit log,
//             folder checks: under one call a manifest) are left out.
//
// minimum and protocol run twice: in one thread, and in as many threads as the daemon's routing
// workers (the online cores, at most 4), each thread taking every T-th file, since a daemon on two
// cores could spread the same calls over both. The burst target ("within 3 times the rename
// floor") is set against the first loop; the others show how much of it any daemon keeping the
// contract, and this one's protocol, must spend. bench/run_all.py runs it beside the burst; the
// figures are in docs/benchmarks.md.
//
//   cc -O2 -pthread -o /tmp/protocol_floor bench/protocol_floor.c && /tmp/protocol_floor DIR [N] [--json]
//
// DIR must be an empty folder on the filesystem to measure; it is left full (5 N manifests and
// 8 N reports): delete it after, and on ext4 without a journal wait 5 minutes after deleting many
// files before measuring again.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// The whole process's CPU, every thread's.
static double cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static int folder(int parent, const char *name) {
    if (mkdirat(parent, name, 0755) != 0 && errno != EEXIST) fail(name);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) fail(name);
    return fd;
}

enum loop { RENAME, MINIMUM, PROTOCOL };

// The size of the bench's burst manifests and of their reports.
static char manifest[300], report[700];
_Static_assert(sizeof manifest < 4096, "a manifest and the byte past it fit the read buffer");

struct job {
    enum loop loop;
    int inbox, processing, outcome;
    int first, step, n;
};

static void *route(void *argument) {
    const struct job *job = argument;
    char name[128], json[160], text[160], buffer[4096];
    struct stat status;
    for (int i = job->first; i < job->n; i += job->step) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        snprintf(json, sizeof json, "%s.report.json", name);
        snprintf(text, sizeof text, "%s.report.txt", name);
        if (job->loop == RENAME) {
            if (renameat(job->inbox, name, job->outcome, name) != 0) fail(name);
            continue;
        }
        int fd = openat(job->inbox, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) fail(name);
        int from = job->inbox;
        if (job->loop == PROTOCOL) {
            // No writer holds the file, so the read lease is given; the daemon asks for it to learn
            // whether one does, and gives it back at once.
            if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0 || fcntl(fd, F_SETLEASE, F_UNLCK) != 0) fail("F_SETLEASE");
            if (renameat2(job->inbox, name, job->processing, name, RENAME_NOREPLACE) != 0) fail(name);
            from = job->processing;
        }
        if (fstat(fd, &status) != 0) fail(name);
        // One byte past the size, as the daemon reads, to see the end.
        size_t want = (size_t)status.st_size + 1 < sizeof buffer ? (size_t)status.st_size + 1 : sizeof buffer;
        if (pread(fd, buffer, want, 0) != status.st_size) fail(name);
        if (job->loop == PROTOCOL && fstat(fd, &status) != 0) fail(name);
        close(fd);
        if (job->loop == PROTOCOL) {
            // The free-name look-ups: each name is free (the calls fail with ENOENT).
            fstatat(job->outcome, name, &status, AT_SYMLINK_NOFOLLOW);
            fstatat(job->outcome, json, &status, AT_SYMLINK_NOFOLLOW);
            fstatat(job->outcome, text, &status, AT_SYMLINK_NOFOLLOW);
        }
        int out = openat(job->outcome, json, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0 || write(out, report, 600) != 600) fail(json);
        close(out);
        out = openat(job->outcome, text, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0 || write(out, report, 400) != 400) fail(text);
        close(out);
        // The stamp check: the claimed file is still the one read.
        if (job->loop == PROTOCOL && fstatat(job->processing, name, &status, AT_SYMLINK_NOFOLLOW) != 0) fail(name);
        if (renameat2(from, name, job->outcome, name, RENAME_NOREPLACE) != 0) fail(name);
    }
    return NULL;
}

struct figures {
    const char *name;
    int threads;
    double seconds, cpu_per_file;
};

static struct figures run(int root, const char *name, enum loop loop, int threads, int n) {
    int base = folder(root, name);
    int staging = folder(base, "staging"), inbox = folder(base, "inbox");
    int processing = folder(base, "processing"), outcome = folder(base, "accepted");
    char file[128];

    // The burst as the bench drops it: staged, flushed, then renamed into the inbox.
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "burst-%06d.json", i);
        int fd = openat(staging, file, O_WRONLY | O_CREAT | O_EXCL, 0640);
        if (fd < 0 || write(fd, manifest, sizeof manifest) != sizeof manifest) fail(file);
        close(fd);
    }
    sync();
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "burst-%06d.json", i);
        if (renameat(staging, file, inbox, file) != 0) fail(file);
    }

    struct job jobs[4];
    pthread_t workers[4];
    double started = now(), cpuStarted = cpu();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){loop, inbox, processing, outcome, t, threads, n};
        if (threads == 1) route(&jobs[t]);
        else if (pthread_create(&workers[t], NULL, route, &jobs[t]) != 0) fail("pthread_create");
    }
    if (threads > 1)
        for (int t = 0; t < threads; t++) pthread_join(workers[t], NULL);
    struct figures result = {name, threads, now() - started, (cpu() - cpuStarted) / n};
    close(staging), close(inbox), close(processing), close(outcome), close(base);
    return result;
}

int main(int argc, char **argv) {
    int n = 10000, json = 0, usable = 1;
    const char *directory = NULL, *count = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (argv[i][0] == '-' || count) usable = 0;  // an unknown option, or a third operand
        else if (!directory) directory = argv[i];
        else count = argv[i];
    }
    if (count) {
        char *end;
        long value = strtol(count, &end, 10);
        n = *end == '\0' && value > 0 && value <= 999999 ? (int)value : 0;
    }
    if (!usable || !directory || n <= 0) {
        fprintf(stderr, "usage: protocol_floor DIR [N] [--json]   (N from 1 to 999999, 10000 if not given)\n");
        return 64;
    }
    int root = open(directory, O_RDONLY | O_DIRECTORY);
    if (root < 0) fail(directory);
    memset(manifest, 'x', sizeof manifest);
    memset(report, 'y', sizeof report);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores;

    struct figures figures[5];
    int loops = 0;
    figures[loops++] = run(root, "rename", RENAME, 1, n);
    figures[loops++] = run(root, "minimum", MINIMUM, 1, n);
    if (threads > 1) figures[loops++] = run(root, "minimum_parallel", MINIMUM, threads, n);
    figures[loops++] = run(root, "protocol", PROTOCOL, 1, n);
    if (threads > 1) figures[loops++] = run(root, "protocol_parallel", PROTOCOL, threads, n);

    if (json) {
        printf("{\"files\": %d", n);
        for (int i = 0; i < loops; i++)
            printf(", \"%s\": {\"threads\": %d, \"seconds\": %.6f, \"cpu_per_file\": %.9f}", figures[i].name,
                   figures[i].threads, figures[i].seconds, figures[i].cpu_per_file);
        printf("}\n");
        return 0;
    }
    for (int i = 0; i < loops; i++)
        printf("%-17s %d thread%s %d manifests: %.3f s wall, %5.1f us CPU a manifest, %.1fx the rename loop's wall\n",
               figures[i].name, figures[i].threads, figures[i].threads == 1 ? ", " : "s,", n, figures[i].seconds,
               figures[i].cpu_per_file * 1e6, figures[i].seconds / figures[0].seconds);
    return 0;
}
