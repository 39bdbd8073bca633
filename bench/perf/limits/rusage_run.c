/* rusage_run OUT.txt CMD [ARGS...]: runs CMD, waits for it, writes
 * "<ru_maxrss KiB> <wall seconds>" to OUT.txt and exits with CMD's status
 * (128+signal when killed).
 *
 * Why a helper: Linux records a process's pre-exec RSS high-water mark in its
 * ru_maxrss, so a child forked (or vforked) straight from the Python harness
 * would report at least the harness's own RSS. This launcher is tiny, so the
 * figure it reports is the command's own peak resident set. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage_run OUT.txt CMD [ARGS...]\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("rusage_run: fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror("rusage_run: exec");
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("rusage_run: wait4");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE *f = fopen(argv[1], "w");
  if (f) {
    fprintf(f, "%ld %.6f\n", ru.ru_maxrss,
            (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    fclose(f);
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;
}
