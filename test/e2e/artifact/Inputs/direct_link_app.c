/* Links the `tiny` model's shared library directly (as tiny.h suggests:
 * "Link with tiny.o (or the .a/.so)") and also loads another model with
 * kiln_model_load; kiln_model_descriptor(loaded) must return the loaded
 * model's descriptor. */
#include "tiny.h"

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  kiln_model *m = NULL;
  kiln_status_code s = kiln_model_load(argv[1], NULL, &m);
  printf("load %s\n", kiln_status_string(s));
  const kiln_model_desc *d = kiln_model_descriptor(m);
  printf("loaded model '%s'\n", d ? d->name : "(null)");
  printf("linked model '%s'\n", tiny_descriptor()->name);
  kiln_model_unload(m);
  return 0;
}
