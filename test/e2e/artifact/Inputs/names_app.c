/* Runs the `names` model (Inputs/names.mlir): tensor names that collide
 * after sanitizing, C keywords, the run function's own identifiers, a
 * leading digit, quotes, a backslash and a comment end. The generated
 * header must compile, its NAME macros must equal the descriptor's names,
 * and names_run must pass the buffers in order. */
#include "names.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  const kiln_entry_desc *e = &names_descriptor()->entries[0];
  const char *in_macros[] = {NAMES_INPUT0_NAME, NAMES_INPUT1_NAME,
                             NAMES_INPUT2_NAME, NAMES_INPUT3_NAME,
                             NAMES_INPUT4_NAME, NAMES_INPUT5_NAME};
  const char *out_macros[] = {NAMES_OUTPUT0_NAME, NAMES_OUTPUT1_NAME};
  for (int i = 0; i < NAMES_NUM_INPUTS; ++i)
    printf("input %d [%s] macro_agrees %d\n", i, e->inputs[i].name,
           strcmp(e->inputs[i].name, in_macros[i]) == 0);
  for (int i = 0; i < NAMES_NUM_OUTPUTS; ++i)
    printf("output %d [%s] macro_agrees %d\n", i, e->outputs[i].name,
           strcmp(e->outputs[i].name, out_macros[i]) == 0);

  float a[2] = {1, 2}, b[2] = {10, 20}, c[2] = {100, 200};
  float d[2] = {3, 4}, f9[2] = {5, 6}, q[2] = {0.5f, 0.25f};
  float y0[2] = {0, 0}, y1[2] = {0, 0};
  kiln_context *ctx = NULL;
  if (kiln_context_create(NULL, &ctx) != KILN_OK)
    return 1;
  kiln_status_code s = names_run(ctx, a, b, c, d, f9, q, y0, y1);
  printf("run %s: inputs %.9g %.9g a.b %.9g %.9g\n", kiln_status_string(s),
         (double)y0[0], (double)y0[1], (double)y1[0], (double)y1[1]);
  kiln_context_destroy(ctx);
  return 0;
}
