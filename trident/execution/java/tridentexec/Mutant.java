package tridentexec;

/** Which variant of every focal method runs: 0 is the original, k the k-th mutant (see mutants.py). */
public final class Mutant {
    public static volatile int active;

    private Mutant() {
    }
}
