// Tensor names that are hard for a C header: two names that sanitize to the
// same identifier, a C keyword, the generated function's own parameter
// names, a leading digit, quotes, a backslash and "*/" (comment end).
func.func @main(%a: tensor<2xf32> {kiln.name = "a.b"},
                %b: tensor<2xf32> {kiln.name = "a/b"},
                %c: tensor<2xf32> {kiln.name = "int"},
                %d: tensor<2xf32> {kiln.name = "ctx"},
                %e: tensor<2xf32> {kiln.name = "9lives"},
                %f: tensor<2xf32> {kiln.name = "q\"uote\\d*/x"})
    -> (tensor<2xf32> {kiln.name = "inputs"},
        tensor<2xf32> {kiln.name = "a.b"}) attributes {kiln.entry} {
  %0 = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32>
  %1 = kiln.add %0, %c : tensor<2xf32>, tensor<2xf32>
  %2 = kiln.mul %d, %e : tensor<2xf32>, tensor<2xf32>
  %3 = kiln.sub %2, %f : tensor<2xf32>, tensor<2xf32>
  return %1, %3 : tensor<2xf32>, tensor<2xf32>
}
