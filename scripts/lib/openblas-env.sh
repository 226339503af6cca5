# Sourced by the launch scripts: one OpenBLAS thread per task slot, and a core type Debian's OpenBLAS 0.3.21 knows.
# Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its SSE3 (Prescott) kernels, 3-4x
# slower (README, "BLAS"). Unless the environment chose a core type, pick the best one this CPU supports.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
if [[ -z "${OPENBLAS_CORETYPE:-}" && -r /proc/cpuinfo ]]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
  if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* && $flags == *" avx512dq "* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
