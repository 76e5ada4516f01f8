// What routing costs the kernel before any evaluation: three loops in one run, one thread each,
// each over its own N staged manifests dropped into an inbox as the burst drops them:
//
//   rename    the floor: each file renamed into another folder, nothing else;
//   minimum   what the contract itself asks of every manifest: read it, write its two reports
//             (x.report.json, x.report.txt) beside it in the outcome folder, move it there;
//   protocol  the system calls the daemon makes per manifest with fsync off (Router: open and
//             lease ask, claim, read, free-name look-ups, two report files, the stamp check, the
//             move), replayed with nothing else: no inotify, no evaluation, no second thread.
//
// The burst target ("within 3 times the rename floor") is set against the first; the other two
// show how much of that any daemon following the contract, and this one's protocol, must spend.
// bench/run_all.py runs it beside the burst; the figures are in docs/benchmarks.md.
//
//   cc -O2 -o /tmp/protocol_floor bench/protocol_floor.c && /tmp/protocol_floor DIR [N] [--json]
//
// DIR must be an empty folder on the filesystem to measure; it is left full (3 N manifests and
// 4 N reports): delete it after, and on ext4 without a journal wait 5 minutes after deleting many
// files before measuring again.
#define _GNU_SOURCE
#include <fcntl.h>
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
    mkdirat(parent, name, 0755);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) fail(name);
    return fd;
}

enum loop { RENAME, MINIMUM, PROTOCOL };
static const char *loop_names[] = {"rename", "minimum", "protocol"};

struct figures {
    double seconds, cpu_per_file;
};

// The size of the bench's burst manifests and of their reports.
static char manifest[300], report[700];

static struct figures run(int root, enum loop loop, int n) {
    int base = folder(root, loop_names[loop]);
    int staging = folder(base, "staging"), inbox = folder(base, "inbox");
    int processing = folder(base, "processing"), outcome = folder(base, "accepted");
    char name[128], json[160], text[160], buffer[4096];
    struct stat status;

    // The burst as the bench drops it: staged, flushed, then renamed into the inbox.
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        int fd = openat(staging, name, O_WRONLY | O_CREAT | O_EXCL, 0640);
        if (fd < 0 || write(fd, manifest, sizeof manifest) != sizeof manifest) fail(name);
        close(fd);
    }
    sync();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        if (renameat(staging, name, inbox, name) != 0) fail(name);
    }

    double started = now(), cpuStarted = cpu();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        snprintf(json, sizeof json, "%s.report.json", name);
        snprintf(text, sizeof text, "%s.report.txt", name);
        if (loop == RENAME) {
            if (renameat(inbox, name, outcome, name) != 0) fail(name);
            continue;
        }
        int fd = openat(inbox, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) fail(name);
        int from = inbox;
        if (loop == PROTOCOL) {
            // The lease asked and given back (no writer holds it), then the claim.
            fcntl(fd, F_SETLEASE, F_RDLCK);
            fcntl(fd, F_SETLEASE, F_UNLCK);
            if (renameat2(inbox, name, processing, name, RENAME_NOREPLACE) != 0) fail(name);
            from = processing;
        }
        fstat(fd, &status);
        (void)pread(fd, buffer, status.st_size + 1, 0);
        if (loop == PROTOCOL) fstat(fd, &status);
        close(fd);
        if (loop == PROTOCOL) {
            // The free-name look-ups.
            fstatat(outcome, name, &status, AT_SYMLINK_NOFOLLOW);
            fstatat(outcome, json, &status, AT_SYMLINK_NOFOLLOW);
            fstatat(outcome, text, &status, AT_SYMLINK_NOFOLLOW);
        }
        int out = openat(outcome, json, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0 || write(out, report, 600) != 600) fail(json);
        close(out);
        out = openat(outcome, text, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0 || write(out, report, 400) != 400) fail(text);
        close(out);
        // The stamp check: the claimed file is still the one read.
        if (loop == PROTOCOL) fstatat(processing, name, &status, AT_SYMLINK_NOFOLLOW);
        if (renameat2(from, name, outcome, name, RENAME_NOREPLACE) != 0) fail(name);
    }
    struct figures result = {now() - started, (cpu() - cpuStarted) / n};
    close(staging), close(inbox), close(processing), close(outcome), close(base);
    return result;
}

int main(int argc, char **argv) {
    int n = 10000, json = 0;
    const char *directory = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (!directory) directory = argv[i];
        else n = atoi(argv[i]);
    }
    if (!directory || n <= 0) {
        fprintf(stderr, "usage: %s DIR [N] [--json]\n", argv[0]);
        return 64;
    }
    int root = open(directory, O_RDONLY | O_DIRECTORY);
    if (root < 0) fail(directory);
    memset(manifest, 'x', sizeof manifest);
    memset(report, 'y', sizeof report);

    struct figures figures[3];
    for (int loop = RENAME; loop <= PROTOCOL; loop++) figures[loop] = run(root, loop, n);

    if (json) {
        printf("{\"files\": %d", n);
        for (int loop = RENAME; loop <= PROTOCOL; loop++)
            printf(", \"%s\": {\"seconds\": %.6f, \"cpu_per_file\": %.9f}", loop_names[loop], figures[loop].seconds,
                   figures[loop].cpu_per_file);
        printf("}\n");
        return 0;
    }
    for (int loop = RENAME; loop <= PROTOCOL; loop++)
        printf("%-8s %d manifests: %.3f s wall, %5.1f us CPU a manifest, %.1fx the rename loop's wall\n",
               loop_names[loop], n, figures[loop].seconds, figures[loop].cpu_per_file * 1e6,
               figures[loop].seconds / figures[RENAME].seconds);
    return 0;
}
