# The CUDA SR backend (src/ns/sr/cuda/): NS_CUDA=AUTO builds it when a CUDA compiler is found, ON requires
# it, OFF leaves it out (everything else builds and passes either way). Sets NS_CUDA_ENABLED.
# Targets sm_90 (H100) by default: real code for it plus its PTX, which newer GPUs compile at load time.
set(NS_CUDA "AUTO" CACHE STRING "Build the CUDA SR backend: ON, OFF or AUTO (when a CUDA compiler is found)")
set_property(CACHE NS_CUDA PROPERTY STRINGS AUTO ON OFF)

set(NS_CUDA_ENABLED OFF)
if(NS_CUDA STREQUAL "AUTO" AND NS_SANITIZE)
  # nvcc takes no -fsanitize, and the CUDA runtime is not instrumented: sanitizer builds test the rest.
  message(STATUS "CUDA backend not built in sanitizer builds (NS_SANITIZE=${NS_SANITIZE})")
elseif(NOT NS_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # "90" = sm_90 machine code + compute_90 PTX
    endif()
    # C++17 for the kernels: CMake 3.25 knows no C++20 dialect for nvcc 13.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(NS_CUDA_ENABLED ON)
    message(STATUS "CUDA ${CMAKE_CUDA_COMPILER_VERSION}: building the cuda SR backend for ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(NS_CUDA)  # ON (any true value) but no compiler
    message(FATAL_ERROR "NS_CUDA=ON but no CUDA compiler was found; install the CUDA toolkit or set NS_CUDA=OFF")
  else()
    message(STATUS "CUDA not found: the cuda SR backend is not built")
  endif()
endif()

# Adds the backend to `target` (ns_lib): host C++ files compiled as the rest of the library, kernels (.cu)
# in an object library with nvcc's own warning flags, the CUDA runtime linked statically (a driver is all
# a machine needs to run it).
function(ns_add_cuda_backend target)
  file(GLOB cuda_host_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/ns/sr/cuda/*.cpp)
  file(GLOB cuda_kernel_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/ns/sr/cuda/*.cu)
  add_library(ns_cuda_kernels OBJECT ${cuda_kernel_sources})
  target_include_directories(ns_cuda_kernels PRIVATE ${PROJECT_SOURCE_DIR}/src)
  set_target_properties(ns_cuda_kernels PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(ns_cuda_kernels PRIVATE -Xcompiler=-Wall,-Wextra --expt-relaxed-constexpr
                         $<$<BOOL:${NS_WERROR}>:-Werror=all-warnings>)
  target_sources(${target} PRIVATE ${cuda_host_sources} $<TARGET_OBJECTS:ns_cuda_kernels>)
  target_link_libraries(${target} PUBLIC CUDA::cudart_static)
  target_compile_definitions(${target} PUBLIC NS_WITH_CUDA=1)
endfunction()
