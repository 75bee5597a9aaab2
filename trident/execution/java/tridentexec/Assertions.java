package tridentexec;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.AbstractBooleanAssert;
import org.assertj.core.api.AbstractCharacterAssert;
import org.assertj.core.api.AbstractDoubleAssert;
import org.assertj.core.api.AbstractIntArrayAssert;
import org.assertj.core.api.AbstractIntegerAssert;
import org.assertj.core.api.AbstractLongAssert;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.IterableAssert;
import org.assertj.core.api.ListAssert;
import org.assertj.core.api.MapAssert;
import org.assertj.core.api.ObjectArrayAssert;
import org.assertj.core.api.ObjectAssert;
import org.assertj.core.api.OptionalAssert;
import org.assertj.core.api.ThrowableAssert;
import org.assertj.core.data.Offset;

/**
 * `Assertions.` for a generated test: JUnit 5's Assertions (inherited, so every JUnit overload is
 * exactly JUnit's) plus AssertJ's entry points, so that both `Assertions.assertEquals(…)` and
 * `Assertions.assertThat(…)` compile, as they do in projects that use either library under that
 * name. Unqualified names come from static imports of both libraries (see sources.py).
 */
public class Assertions extends org.junit.jupiter.api.Assertions {
    protected Assertions() {
    }

    public static AbstractBooleanAssert<?> assertThat(boolean actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractBooleanAssert<?> assertThat(Boolean actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractIntegerAssert<?> assertThat(int actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractIntegerAssert<?> assertThat(Integer actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractLongAssert<?> assertThat(long actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractLongAssert<?> assertThat(Long actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractDoubleAssert<?> assertThat(double actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractDoubleAssert<?> assertThat(Double actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractCharacterAssert<?> assertThat(char actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractStringAssert<?> assertThat(String actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractIntArrayAssert<?> assertThat(int[] actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <T> ObjectArrayAssert<T> assertThat(T[] actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <T> ListAssert<T> assertThat(List<? extends T> actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <T> IterableAssert<T> assertThat(Iterable<? extends T> actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <K, V> MapAssert<K, V> assertThat(Map<K, V> actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <T> OptionalAssert<T> assertThat(Optional<T> actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static AbstractThrowableAssert<?, ? extends Throwable> assertThat(Throwable actual) { return org.assertj.core.api.Assertions.assertThat(actual); }
    public static <T> ObjectAssert<T> assertThat(T actual) { return org.assertj.core.api.Assertions.assertThat(actual); }

    public static AbstractThrowableAssert<?, ? extends Throwable> assertThatThrownBy(ThrowableAssert.ThrowingCallable call) {
        return org.assertj.core.api.Assertions.assertThatThrownBy(call);
    }

    public static Offset<Double> within(Double value) { return org.assertj.core.api.Assertions.within(value); }
    public static Offset<Float> within(Float value) { return org.assertj.core.api.Assertions.within(value); }
    public static Offset<Integer> within(Integer value) { return org.assertj.core.api.Assertions.within(value); }
    public static Offset<Long> within(Long value) { return org.assertj.core.api.Assertions.within(value); }
}
