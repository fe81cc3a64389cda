/*
 * Reference writer for the fpzip test vectors in this directory: calls
 * libfpzip (Debian libfpzip-dev 1.3.0, FPZIP_FP_FAST) exactly as the paper's
 * Python binding does for fpzip.compress(x, precision=0, order='C') on a 1-D
 * float32 array: type float, prec 0, nx = len, ny = nz = nf = 1.
 *
 *   gcc -O2 -o libfpzip_ref libfpzip_ref.c -lfpzip
 *   ./libfpzip_ref laplace128.f32 > laplace128.libfpzip.fpz
 */
#include <fpzip.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) return 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  float *d = malloc(n);
  if (fread(d, 1, n, f) != (size_t)n) return 1;
  fclose(f);
  size_t cap = 2 * n + 1024;
  void *buf = malloc(cap);
  FPZ *z = fpzip_write_to_buffer(buf, cap);
  z->type = FPZIP_TYPE_FLOAT;
  z->prec = 0;
  z->nx = n / 4;
  z->ny = z->nz = z->nf = 1;
  if (!fpzip_write_header(z)) return 2;
  size_t out = fpzip_write(z, d);
  fpzip_write_close(z);
  fwrite(buf, 1, out, stdout);
  return out ? 0 : 3;
}
