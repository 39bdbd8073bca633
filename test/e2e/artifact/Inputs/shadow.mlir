// Tensor names equal to identifiers the generated <name>_run() body uses:
// the model's own descriptor function and the runtime's kiln_model_run.
func.func @main(%a: tensor<2xf32> {kiln.name = "shadow_descriptor"},
                %b: tensor<2xf32> {kiln.name = "kiln_model_run"})
    -> (tensor<2xf32> {kiln.name = "y"}) attributes {kiln.entry} {
  %0 = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32>
  return %0 : tensor<2xf32>
}
