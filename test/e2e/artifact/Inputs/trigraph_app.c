/* Prints the NAME macros of the `trigraph` model (Inputs/trigraph.mlir)
 * next to the descriptor's names. */
#include "trigraph.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  const kiln_entry_desc *e = &trigraph_descriptor()->entries[0];
  printf("input 0 [%s] macro_agrees %d\n", e->inputs[0].name,
         strcmp(e->inputs[0].name, TRIGRAPH_INPUT0_NAME) == 0);
  printf("input 1 [%s] macro_agrees %d\n", e->inputs[1].name,
         strcmp(e->inputs[1].name, TRIGRAPH_INPUT1_NAME) == 0);
  return 0;
}
