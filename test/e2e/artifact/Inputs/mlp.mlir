// A chain of matmuls and elementwise ops whose intermediates need a
// workspace (used by the no-malloc and two-model tests). Weights take values
// in {-1, -0.5, 0, 0.5, 1, 2} so results on small halves are exact:
//   y = ((relu(x @ w1 + b1) @ w2 - x) @ w3) * 0.5
func.func @main(%x: tensor<4x8xf32> {kiln.name = "x"})
    -> (tensor<4x4xf32> {kiln.name = "y"}) attributes {kiln.entry} {
  %w1 = kiln.constant dense<[[-0.5, 0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0], [2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, -1.0], [-0.5, 0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0], [2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, -1.0], [-0.5, 0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0]]> : tensor<8x8xf32>
  %b1 = kiln.constant dense<[0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0]> : tensor<8xf32>
  %w2 = kiln.constant dense<[[0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5], [1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, -1.0, -0.5], [0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5], [1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, -1.0, -0.5], [0.0, 0.5, 1.0, 2.0, -1.0, -0.5, 0.0, 0.5], [1.0, 2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]]> : tensor<8x8xf32>
  %w3 = kiln.constant dense<[[2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0], [-0.5, 0.0, 0.5, 1.0], [2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0], [-0.5, 0.0, 0.5, 1.0], [2.0, -1.0, -0.5, 0.0], [0.5, 1.0, 2.0, -1.0]]> : tensor<8x4xf32>
  %half = kiln.constant dense<0.5> : tensor<4x4xf32>
  %0 = kiln.matmul %x, %w1 : tensor<4x8xf32>, tensor<8x8xf32>
  %1 = kiln.add %0, %b1 : tensor<4x8xf32>, tensor<8xf32>
  %2 = kiln.relu %1 : tensor<4x8xf32>
  %3 = kiln.matmul %2, %w2 : tensor<4x8xf32>, tensor<8x8xf32>
  %4 = kiln.sub %3, %x : tensor<4x8xf32>, tensor<4x8xf32>
  %5 = kiln.matmul %4, %w3 : tensor<4x8xf32>, tensor<8x4xf32>
  %y = kiln.mul %5, %half : tensor<4x4xf32>, tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
