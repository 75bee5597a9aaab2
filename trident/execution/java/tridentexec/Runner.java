package tridentexec;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * One JVM for a whole batch of generated tests. Commands arrive on stdin, one per line, and each
 * answer is one tab-separated line on stdout (what the tests print goes nowhere), after the nonce
 * the first line gave:
 *
 *   NONCE secret                         → (first line only) every answer below starts "secret\t"
 *   COMPILE classesDir sourcesListFile   → ERROR path message (per file that does not compile), then COMPILED ok failed
 *   LOAD classesDir                      → (no answer) run classes an earlier JVM compiled
 *   RUN timeoutMillis variant class…     → RESULT class method pass|fail|error|timeout message (per test
 *                                          method; method empty when the whole class failed), then DONE
 *
 * Files that do not compile are left out and the rest compiled again, so one broken example never
 * costs the others. All classes of a RUN go through one launcher execution with every focal method
 * at the given mutant variant (tridentexec.Mutant). A test still running at its timeout is stopped
 * (Thread.stop, which Java 17 still has) and the unfinished classes run again; where the JVM
 * refuses to stop a thread, it says TIMEOUT and exits, and the caller starts a new one.
 */
public final class Runner {
    private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
            StandardCharsets.UTF_8);
    private static final PrintStream SINK = new PrintStream(OutputStream.nullOutputStream());

    private static ClassLoader loader = Runner.class.getClassLoader();

    public static void main(String[] args) throws Exception {
        System.setOut(SINK);
        System.setErr(SINK);
        // Only the Jupiter engine, and nothing found by service loading: the console jar also
        // carries the vintage and suite engines, and each would take part in every discovery.
        Launcher launcher = LauncherFactory.create(LauncherConfig.builder()
                .enableTestEngineAutoRegistration(false)
                .enableLauncherSessionListenerAutoRegistration(false)
                .enableLauncherDiscoveryListenerAutoRegistration(false)
                .enablePostDiscoveryFilterAutoRegistration(false)
                .enableTestExecutionListenerAutoRegistration(false)
                .addTestEngines(new org.junit.jupiter.engine.JupiterTestEngine())
                .build());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        // The caller's per-run secret: it starts every line this Runner prints, so a test that
        // prints a result line of its own cannot pass it off as one. Kept in locals only.
        String first = in.readLine();
        if (first == null || !first.startsWith("NONCE\t")) {
            return;
        }
        final String nonce = first.substring("NONCE\t".length());
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t");
            if (parts[0].equals("COMPILE")) {
                compile(nonce, Paths.get(parts[1]), Files.readAllLines(Paths.get(parts[2]), StandardCharsets.UTF_8));
            } else if (parts[0].equals("LOAD")) {  // a new JVM for classes compiled by an earlier one
                loader = new URLClassLoader(new URL[] {Paths.get(parts[1]).toUri().toURL()}, Runner.class.getClassLoader());
            } else if (parts[0].equals("RUN")) {
                run(nonce, launcher, Long.parseLong(parts[1]), Integer.parseInt(parts[2]),
                        java.util.Arrays.asList(parts).subList(3, parts.length));
            } else if (parts[0].equals("QUIT")) {
                break;
            }
            OUT.flush();
        }
    }

    /** One protocol line, whole (a test thread printing at the same moment cannot split it). */
    private static void say(String nonce, String text) {
        synchronized (OUT) {
            OUT.println(nonce + "\t" + text);
        }
    }

    private static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        String flat = text.replace('\t', ' ').replace('\r', ' ').replace('\n', ' ').trim();
        return flat.length() > 500 ? flat.substring(0, 500) : flat;
    }

    /** Compile in one javac task per core: sources are grouped by folder (one example's package),
     * so each task holds everything its files need besides the harness on the class path. */
    private static void compile(String nonce, Path classes, List<String> sources) throws Exception {
        Files.createDirectories(classes);
        int tasks = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8));
        Map<String, List<String>> byFolder = new LinkedHashMap<>();
        for (String source : sources) {
            byFolder.computeIfAbsent(String.valueOf(Paths.get(source).getParent()), k -> new ArrayList<>()).add(source);
        }
        List<List<String>> chunks = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            chunks.add(new ArrayList<>());
        }
        int next = 0;
        for (List<String> group : byFolder.values()) {
            chunks.get(next++ % tasks).addAll(group);
        }
        Map<String, String> failed = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
        List<Thread> threads = new ArrayList<>();
        for (List<String> chunk : chunks) {
            if (chunk.isEmpty()) {
                continue;
            }
            Thread t = new Thread(() -> compileChunk(classes, chunk, failed));
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        for (Map.Entry<String, String> e : new ArrayList<>(failed.entrySet())) {
            say(nonce, "ERROR\t" + e.getKey() + "\t" + e.getValue());
        }
        say(nonce, "COMPILED\t" + (sources.size() - failed.size()) + "\t" + failed.size());
        loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, Runner.class.getClassLoader());
    }

    private static void compileChunk(Path classes, List<String> sources, Map<String, String> failed) {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        List<String> options = List.of("-d", classes.toString(), "-cp",
                System.getProperty("java.class.path") + File.pathSeparator + classes, "-proc:none", "-nowarn",
                "-encoding", "UTF-8", "-Xlint:none", "-g:none", "-Xmaxerrs", "1000000", "-implicit:none");
        List<String> pending = new ArrayList<>(sources);
        boolean clean = pending.isEmpty();
        // A file with an error stops javac from writing any class: drop the failing files and go
        // again until a pass is clean (a test can fail only because its focal class did).
        for (int pass = 0; pass < 6 && !pending.isEmpty(); pass++) {
            DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
            try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
                Iterable<? extends JavaFileObject> units = files.getJavaFileObjectsFromStrings(pending);
                clean = compiler.getTask(null, files, diagnostics, options, null, units).call();
            } catch (Exception e) {
                for (String p : pending) {
                    failed.put(p, "the compiler failed: " + oneLine(String.valueOf(e)));
                }
                return;
            }
            if (clean) {
                break;
            }
            List<String> bad = new ArrayList<>();
            for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                if (d.getKind() != Diagnostic.Kind.ERROR || d.getSource() == null) {
                    continue;
                }
                String path = Paths.get(d.getSource().toUri()).toString();
                if (!failed.containsKey(path)) {
                    failed.put(path, "line " + d.getLineNumber() + ": " + oneLine(d.getMessage(Locale.ROOT)));
                    bad.add(path);
                }
            }
            if (bad.isEmpty()) {  // an error with no file: nothing compiles
                for (String p : pending) {
                    failed.put(p, "the compiler failed without naming a file");
                }
                return;
            }
            pending.removeAll(bad);
        }
        if (!clean) {  // errors kept appearing: what is left was never compiled
            for (String p : pending) {
                failed.putIfAbsent(p, "not compiled: other files' errors kept it out");
            }
        }
    }

    private static String describe(Throwable t) {
        String message = t.getMessage();
        return oneLine(t.getClass().getName() + (message == null ? "" : ": " + message));
    }

    /** One launcher execution over `classes` with every focal method at `variant`. A test still
     * running after `timeoutMillis` is stopped: Thread.stop throws ThreadDeath inside it, which
     * JUnit records as that test's failure before going on to the next test. */
    @SuppressWarnings("deprecation")
    private static void run(String nonce, Launcher launcher, long timeoutMillis, int variant, List<String> classes)
            throws Exception {
        Mutant.active = variant;
        AtomicReference<TestIdentifier> current = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong startedAt = new java.util.concurrent.atomic.AtomicLong();
        java.util.Set<String> stopped = java.util.concurrent.ConcurrentHashMap.newKeySet();
        Thread worker = new Thread(() -> {
            List<org.junit.platform.engine.DiscoverySelector> selectors = new ArrayList<>();
            for (String name : classes) {
                try {
                    selectors.add(DiscoverySelectors.selectClass(Class.forName(name, false, loader)));
                } catch (Throwable t) {
                    say(nonce, "RESULT\t" + name + "\t\terror\t" + describe(t));
                }
            }
            if (selectors.isEmpty()) {
                return;
            }
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
            launcher.execute(request, new TestExecutionListener() {
                @Override
                public void executionStarted(TestIdentifier id) {
                    if (id.isTest()) {
                        startedAt.set(System.nanoTime());
                        current.set(id);
                    }
                }

                @Override
                public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                    String[] where = where(id);
                    if (id.isTest()) {
                        current.set(null);
                        boolean ok = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL;
                        String status = stopped.contains(id.getUniqueId()) ? "timeout" : ok ? "pass" : "fail";
                        String message = status.equals("timeout") ? "still running after " + timeoutMillis + " ms"
                                : ok ? "" : result.getThrowable().map(Runner::describe).orElse("failed");
                        say(nonce, "RESULT\t" + where[0] + "\t" + where[1] + "\t" + status + "\t" + message);
                    } else if (where[0] != null && where[1].isEmpty()
                            && result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                        say(nonce, "RESULT\t" + where[0] + "\t\terror\t"
                                + result.getThrowable().map(Runner::describe).orElse("the class failed"));
                    }
                }
            });
        });
        worker.setDaemon(true);
        worker.setContextClassLoader(loader);
        worker.start();
        int stops = 0;
        String lastStopped = null;
        while (worker.isAlive()) {
            worker.join(5);
            TestIdentifier running = current.get();
            if (running != null && System.nanoTime() - startedAt.get() > timeoutMillis * 1_000_000L) {
                String uid = running.getUniqueId();
                stops = uid.equals(lastStopped) ? stops + 1 : 1;
                lastStopped = uid;
                stopped.add(uid);
                try {
                    if (stops > 5) {  // it keeps catching ThreadDeath: only a new JVM ends it
                        throw new UnsupportedOperationException();
                    }
                    worker.stop();
                } catch (UnsupportedOperationException gone) {
                    String[] at = where(running);
                    say(nonce, "TIMEOUT\t" + at[0] + "\t" + at[1]);
                    OUT.flush();
                    System.exit(3);
                }
                startedAt.set(System.nanoTime());  // give the stop a timeout's time to land
            }
        }
        say(nonce, "DONE");
    }

    /** {class name, method name} of a test ({class, ""} for a class container, {null, ""} otherwise). */
    private static String[] where(TestIdentifier id) {
        org.junit.platform.engine.TestSource source = id.getSource().orElse(null);
        if (source instanceof org.junit.platform.engine.support.descriptor.MethodSource) {
            org.junit.platform.engine.support.descriptor.MethodSource m = (org.junit.platform.engine.support.descriptor.MethodSource) source;
            return new String[] {m.getClassName(), m.getMethodName()};
        }
        if (source instanceof org.junit.platform.engine.support.descriptor.ClassSource) {
            return new String[] {((org.junit.platform.engine.support.descriptor.ClassSource) source).getClassName(), ""};
        }
        return new String[] {null, ""};
    }
}
