// An op result and a declaration.
func.func private @external(memref<8xf32, "private">)

func.func @alloc() {
  %a = memref.alloc() : memref<8xf32, #gpu.address_space<private>>
  return
}
