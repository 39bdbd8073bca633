// Input of test/install/plugin.test: two relu chains the example plugin
// (examples/plugin, kiln-fold-double-relu) folds; the lone relu stays.
func.func @main(%x: tensor<4xf32> {kiln.name = "x"}, %y: tensor<4xf32> {kiln.name = "y"})
    -> (tensor<4xf32> {kiln.name = "a"}, tensor<4xf32> {kiln.name = "b"}) attributes {kiln.entry} {
  %0 = kiln.relu %x : tensor<4xf32>
  %1 = kiln.relu %0 : tensor<4xf32>
  %2 = kiln.relu %1 : tensor<4xf32>
  %3 = kiln.relu %y : tensor<4xf32>
  return %2, %3 : tensor<4xf32>, tensor<4xf32>
}
