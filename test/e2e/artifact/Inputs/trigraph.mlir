// A tensor name holding the trigraph "??/" (a backslash in ISO C modes such
// as -std=c11, where trigraphs are on): written as is into a C string
// literal, it escapes the closing quote.
func.func @main(%a: tensor<2xf32> {kiln.name = "why??/"},
                %b: tensor<2xf32> {kiln.name = "b??=??(??)"})
    -> (tensor<2xf32> {kiln.name = "y"}) attributes {kiln.entry} {
  %0 = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32>
  return %0 : tensor<2xf32>
}
