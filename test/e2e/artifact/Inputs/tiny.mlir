// A small model for the artifact tests: exact float math (halves and small
// integers), two inputs and two outputs, names that are not C identifiers,
// one int64 input and non-splat constants (weights_bytes > 0).
//
// With input.1 = [[1, 2, 3], [-4, 5, 0.5]] and idx = [1, -2]:
//   out/probs = relu((input.1 + bias) * gather(w, idx))
//             = [[0.75, 3, 0], [0, 0, 1.5]]
//   sum:0     = concat(column sums of input.1, flat(input.1)[1:4:2])
//             = [-3, 7, 3.5, 2, -4]
func.func @main(%x: tensor<2x3xf32> {kiln.name = "input.1"},
                %idx: tensor<2xi64> {kiln.name = "idx"})
    -> (tensor<2x3xf32> {kiln.name = "out/probs"},
        tensor<5xf32> {kiln.name = "sum:0"}) attributes {kiln.entry} {
  %w = kiln.constant dense<[[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]]> : tensor<2x3xf32>
  %bias = kiln.constant dense<[0.5, -1.0, 0.25]> : tensor<3xf32>
  %g = kiln.gather %w, %idx {axis = 0 : i64} : tensor<2x3xf32>, tensor<2xi64> -> tensor<2x3xf32>
  %0 = kiln.add %x, %bias : tensor<2x3xf32>, tensor<3xf32>
  %1 = kiln.mul %0, %g : tensor<2x3xf32>, tensor<2x3xf32>
  %probs = kiln.relu %1 : tensor<2x3xf32>
  %t = kiln.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %s = kiln.reduce_sum %t {axes = array<i64: 1>, keepdims = false} : tensor<3x2xf32> -> tensor<3xf32>
  %flat = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xf32>
  %sl = kiln.slice %flat {starts = array<i64: 1>, sizes = array<i64: 2>, steps = array<i64: 2>} : tensor<6xf32> -> tensor<2xf32>
  %sum = kiln.concat %s, %sl {axis = 0 : i64} : tensor<3xf32>, tensor<2xf32> -> tensor<5xf32>
  return %probs, %sum : tensor<2x3xf32>, tensor<5xf32>
}
