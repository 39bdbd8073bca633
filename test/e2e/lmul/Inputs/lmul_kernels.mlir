// An L-Mul matmul (e4m3) and an elementwise L-Mul (fp32): vectorize.test.
func.func @main(%a: tensor<64x128xf32> {kiln.name = "a"}, %b: tensor<128x256xf32> {kiln.name = "b"}, %x: tensor<4096xf32> {kiln.name = "x"}) -> (tensor<64x256xf32> {kiln.name = "m"}, tensor<4096xf32> {kiln.name = "z"}) attributes {kiln.entry} {
  %m = kiln.matmul %a, %b {lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">} : tensor<64x128xf32>, tensor<128x256xf32>
  %z = kiln.mul %x, %x {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<4096xf32>, tensor<4096xf32>
  return %m, %z : tensor<64x256xf32>, tensor<4096xf32>
}
