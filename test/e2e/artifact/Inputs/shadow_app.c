/* The `shadow` model (Inputs/shadow.mlir) names its inputs after the
 * identifiers that the generated shadow_run() calls. */
#include "shadow.h"

#include <stdio.h>

int main(void) {
  float a[2] = {1, 2}, b[2] = {10, 20}, y[2] = {0, 0};
  kiln_context *ctx = NULL;
  if (kiln_context_create(NULL, &ctx) != KILN_OK)
    return 1;
  kiln_status_code s = shadow_run(ctx, a, b, y);
  printf("run %s: y %.9g %.9g\n", kiln_status_string(s), (double)y[0],
         (double)y[1]);
  kiln_context_destroy(ctx);
  return 0;
}
