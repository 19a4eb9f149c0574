{
  "targets": [
    {
      "target_name": "pedgpt_native",
      "sources": ["src/addon.cc", "src/kernels.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "variables": {
        "openblas_ok": "<!(node configure.cjs check && echo 1)",
        "simd_flags": "<!(node configure.cjs cflags)"
      },
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "<@(simd_flags)"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lopenblas", "-lpthread"]
    }
  ]
}
