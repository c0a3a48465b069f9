package io.raidd.raid.volume;

import io.raidd.raid.parity.GaloisField;
import io.raidd.raid.parity.ParityKernel;

/**
 * Regenerates up to two lost data blocks of one stripe from P and Q, over a byte range that is the
 * same in every block. Data blocks are given in md's syndrome order; lost ones are named by their
 * syndrome index. The formulas are lib/raid6/recov.c's.
 */
final class StripeMath {
  private StripeMath() {}

  /** Data block {@code z} from P and the other data blocks (RAID-5 style). */
  static void dataFromP(ParityKernel kernel, byte[][] syn, int k, int z, byte[] p, int len) {
    byte[] dst = syn[z];
    System.arraycopy(p, 0, dst, 0, len);
    for (int i = 0; i < k; i++) {
      if (i != z) {
        kernel.xorInto(syn[i], dst, 0, len);
      }
    }
  }

  /** Data block {@code z} from Q and the other data blocks: D_z = g^-z (Q + Q'). */
  static void dataFromQ(ParityKernel kernel, byte[][] syn, int k, int z, byte[] q, int len, byte[] scratchP, byte[] scratchQ) {
    byte[] lost = syn[z];
    syn[z] = null;
    kernel.pq(syn, k, scratchP, scratchQ, 0, len);
    syn[z] = lost;
    kernel.xorInto(q, scratchQ, 0, len);
    kernel.mul(GaloisField.inv(GaloisField.pow2(z)), scratchQ, lost, 0, len);
  }

  /** Data blocks {@code a < b} from P and Q. */
  static void twoData(
      ParityKernel kernel, byte[][] syn, int k, int a, int b, byte[] p, byte[] q, int len, byte[] scratchP, byte[] scratchQ) {
    byte[] da = syn[a];
    byte[] db = syn[b];
    syn[a] = null;
    syn[b] = null;
    kernel.pq(syn, k, scratchP, scratchQ, 0, len);
    syn[a] = da;
    syn[b] = db;
    kernel.xorInto(p, scratchP, 0, len); // Pd
    kernel.xorInto(q, scratchQ, 0, len); // Qd
    int coefP = GaloisField.inv(GaloisField.pow2(b - a) ^ 1);
    int coefQ = GaloisField.inv(GaloisField.pow2(a) ^ GaloisField.pow2(b));
    kernel.mul(coefP, scratchP, db, 0, len);
    kernel.mulXorInto(coefQ, scratchQ, db, 0, len);
    System.arraycopy(db, 0, da, 0, len);
    kernel.xorInto(scratchP, da, 0, len);
  }
}
