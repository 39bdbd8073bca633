// Two outputs whose names differ only in characters that are unsafe in file
// names ("y/0" and "y:0" both become "y_0" under `kiln run`'s rule).
func.func @main(%s: tensor<f32> {kiln.name = "s"}, %x: tensor<3xf32> {kiln.name = "x"})
    -> (tensor<3xf32> {kiln.name = "y/0"}, tensor<f32> {kiln.name = "y:0"}) attributes {kiln.entry} {
  %0 = kiln.mul %x, %s : tensor<3xf32>, tensor<f32>
  %1 = kiln.reduce_sum %0 {axes = array<i64: 0>, keepdims = false} : tensor<3xf32> -> tensor<f32>
  return %0, %1 : tensor<3xf32>, tensor<f32>
}
