package tridentexec;

/**
 * `Assert.` for a generated test: JUnit 4's org.junit.Assert (inherited, exactly JUnit 4), plus the
 * mixed boxed overloads JUnit 5 has and JUnit 4 lacks, so that `Assert.assertEquals(6, map.get(k))`
 * (an int against an Integer) means what it means under JUnit 5 instead of being ambiguous.
 */
public class Assert extends org.junit.Assert {
    protected Assert() {
    }

    public static void assertEquals(int expected, Integer actual) { org.junit.Assert.assertEquals((Object) expected, actual); }
    public static void assertEquals(Integer expected, int actual) { org.junit.Assert.assertEquals(expected, (Object) actual); }
    public static void assertEquals(long expected, Long actual) { org.junit.Assert.assertEquals((Object) expected, actual); }
    public static void assertEquals(Long expected, long actual) { org.junit.Assert.assertEquals(expected, (Object) actual); }
}
