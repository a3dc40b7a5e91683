using System.Diagnostics;

namespace WeSaR.TestSupport;

/// <summary>Where the tests find the repository, the real corpus and the built `wesar` command.</summary>
public static class TestEnv
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// The real text the tests train on: $WESAR_TEST_CORPUS if set, else the product's built-in corpus (the .NET
    /// SDK's API documentation as text), written once per test process to a temp folder.
    /// </summary>
    public static string Corpus => corpus.Value;

    static readonly Lazy<string> corpus = new(() =>
        Environment.GetEnvironmentVariable("WESAR_TEST_CORPUS") is { Length: > 0 } path
            ? File.Exists(path) ? path : throw new FileNotFoundException($"WESAR_TEST_CORPUS names no file: {path}")
            : WeSaR.Training.Data.BuiltinCorpus.Materialize(Directory.CreateTempSubdirectory("wesar-test-corpus-").FullName));

    public static string TinyPreset => Path.Combine(RepoRoot, "hocon", "presets", "tiny.conf");

    /// <summary>A fresh folder under the system temp folder, removed by the caller's Dispose.</summary>
    public static TempDir NewTempDir() => new(Directory.CreateTempSubdirectory("wesar-test-").FullName);

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "WeSaR.Actors.sln"))) return d.FullName;
        throw new InvalidOperationException("WeSaR.Actors.sln not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TempDir(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Runs the built `wesar` as a real OS process.</summary>
public static class Wesar
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>Stdout as JSON, after checking the command succeeded.</summary>
        public System.Text.Json.JsonElement Json()
        {
            if (ExitCode != 0) throw new Xunit.Sdk.XunitException($"exit {ExitCode}\n{Stdout}\n{Stderr}");
            return System.Text.Json.JsonDocument.Parse(Stdout).RootElement;
        }
    }

    public static string Dll
    {
        get
        {
#if DEBUG
            const string config = "Debug";
#else
            const string config = "Release";
#endif
            var dll = Path.Combine(TestEnv.RepoRoot, "src", "WeSaR.Cli", "bin", config, "net10.0", "wesar.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the CLI first: {dll}");
        }
    }

    public static Result Run(params string[] args) => Run(TimeSpan.FromMinutes(10), args);

    public static Result Run(TimeSpan timeout, params string[] args) => Run(timeout, new Dictionary<string, string>(), args);

    /// <param name="environment">Variables added to the process's environment (e.g. WESAR_POSTGRES).</param>
    public static Result Run(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestEnv.RepoRoot };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"wesar {string.Join(' ', args)} ran past {timeout}");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A `wesar` process whose output is watched line by line, so a test can act at a chosen moment.</summary>
public sealed class RunningWesar : IDisposable
{
    readonly Process process;
    readonly List<string> lines = [];
    readonly SemaphoreSlim changed = new(0);

    public RunningWesar(params string[] args) : this(new Dictionary<string, string>(), args) { }

    /// <param name="environment">Variables added to the process's environment (e.g. WESAR_POSTGRES).</param>
    public RunningWesar(IReadOnlyDictionary<string, string> environment, params string[] args) : this(null, environment, args) { }

    /// <param name="inside">A network namespace to run in (its process is wesar itself: `ip netns exec` replaces itself).</param>
    public RunningWesar(NetworkNamespace? inside, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo(inside is null ? "dotnet" : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestEnv.RepoRoot };
        if (inside is not null) foreach (var a in new[] { "netns", "exec", inside.Name, "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(Wesar.Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    void Add(string? line)
    {
        if (line is null) return;
        lock (lines) lines.Add(line);
        changed.Release();
    }

    public int Pid => process.Id;

    public int LineCount
    {
        get { lock (lines) return lines.Count; }
    }

    public string Output
    {
        get { lock (lines) return string.Join('\n', lines); }
    }

    public bool HasExited => process.HasExited;

    /// <summary>Waits for an output line that matches; fails with the output so far if none comes in time.</summary>
    /// <param name="from">Look only at lines after this many (see <see cref="LineCount"/>).</param>
    public string WaitFor(Func<string, bool> match, TimeSpan timeout, int from = 0) =>
        WaitForOrExit(match, timeout, from) ?? throw new InvalidOperationException($"wesar exited ({process.ExitCode}) before the expected line:\n{Output}");

    /// <summary>Like <see cref="WaitFor"/>, but null when the process ends first (for a test to which both are fine).</summary>
    public string? WaitForOrExit(Func<string, bool> match, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = from;
        while (true)
        {
            lock (lines)
            {
                for (; seen < lines.Count; seen++)
                    if (match(lines[seen])) return lines[seen];
            }
            if (process.HasExited && !changed.Wait(200)) return null;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no expected line within {timeout}:\n{Output}");
            changed.Wait(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>SIGKILL: no handler, no flush, no shutdown hook runs.</summary>
    public void KillHard()
    {
        process.Kill();
        process.WaitForExit();
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wesar ran past {timeout}:\n{Output}");
        }
        process.WaitForExit();   // drains the output readers
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}

/// <summary>
/// A test that needs the PostgreSQL server named by $WESAR_TEST_POSTGRES (a connection string; `.ci/run` starts one
/// and sets it). Without it the test is reported as skipped, never as passed.
/// </summary>
public sealed class PostgresFactAttribute : Xunit.FactAttribute
{
    public static string? ConnectionString => Environment.GetEnvironmentVariable("WESAR_TEST_POSTGRES") is { Length: > 0 } cs ? cs : null;

    public PostgresFactAttribute()
    {
        if (ConnectionString is null) Skip = "set WESAR_TEST_POSTGRES to a PostgreSQL connection string (.ci/run does)";
    }
}

/// <summary>A test that mounts file systems (a read-only bind mount, a small tmpfs): it needs CAP_SYS_ADMIN, as root in CI has.</summary>
public sealed class MountFactAttribute : Xunit.FactAttribute
{
    public MountFactAttribute()
    {
        if (!CanMount) Skip = "mounting needs CAP_SYS_ADMIN (run the tests as root)";
    }

    // CapEff in /proc/self/status is a hex mask; CAP_SYS_ADMIN is bit 21.
    static bool CanMount => OperatingSystem.IsLinux() && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:")) is { } line
        && (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 21)) != 0;
}

/// <summary>
/// A cluster test with a node on a second host made on this machine (a network namespace): it needs CAP_NET_ADMIN,
/// iproute2's `ip`, and a PostgreSQL journal (WESAR_TEST_POSTGRES).
/// </summary>
public sealed class NetnsPostgresFactAttribute : Xunit.FactAttribute
{
    public NetnsPostgresFactAttribute()
    {
        // CAP_NET_ADMIN is bit 12 of CapEff.
        var admin = OperatingSystem.IsLinux() && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:")) is { } line
            && (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 12)) != 0;
        if (!admin || !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip")) Skip = "needs CAP_NET_ADMIN (root) and iproute2's `ip`";
        else if (PostgresFactAttribute.ConnectionString is null) Skip = "set WESAR_TEST_POSTGRES to a PostgreSQL connection string (.ci/run does)";
    }
}

/// <summary>
/// A network namespace joined to this one by a veth pair: a second host at <c>InsideIp</c>, this one at
/// <c>OutsideIp</c>. <see cref="Cut"/> takes its end of the link down, so no packet crosses in either direction (a
/// real partition); <see cref="Heal"/> brings it back. Removed on Dispose.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    static int next = Environment.ProcessId % 200;

    public string Name { get; }
    public string OutsideIp { get; }
    public string InsideIp { get; }
    readonly string outside, inside;

    public NetworkNamespace()
    {
        var k = Interlocked.Increment(ref next) % 250 + 1;
        (Name, outside, inside, OutsideIp, InsideIp) = ($"wesar-t{k}", $"wst{k}a", $"wst{k}b", $"10.213.{k}.1", $"10.213.{k}.2");
        Ip("netns", "add", Name);
        Ip("link", "add", outside, "type", "veth", "peer", "name", inside);
        Ip("link", "set", inside, "netns", Name);
        Ip("addr", "add", OutsideIp + "/24", "dev", outside);
        Ip("link", "set", outside, "up");
        Ip("netns", "exec", Name, "ip", "addr", "add", InsideIp + "/24", "dev", inside);
        Ip("netns", "exec", Name, "ip", "link", "set", inside, "up");
        Ip("netns", "exec", Name, "ip", "link", "set", "lo", "up");
    }

    public void Cut() => Ip("netns", "exec", Name, "ip", "link", "set", inside, "down");

    public void Heal() => Ip("netns", "exec", Name, "ip", "link", "set", inside, "up");

    public void Dispose()
    {
        Ip("link", "del", outside);
        Ip("netns", "del", Name);
    }

    static void Ip(params string[] args)
    {
        using var p = Process.Start("ip", args);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: exit {p.ExitCode}");
    }
}

/// <summary>A small tmpfs mounted by the test on a new folder (a disk that fills for real), unmounted on Dispose.</summary>
public sealed class Tmpfs : IDisposable
{
    public string Path { get; }

    public Tmpfs(string path, string size)
    {
        Path = path;
        Directory.CreateDirectory(path);
        Sh("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
    }

    /// <summary>Frees space (or takes it away) without touching the files.</summary>
    public void Resize(string size) => Sh("mount", "-o", $"remount,size={size}", Path);

    public void Dispose() => Sh("umount", Path);

    static void Sh(string file, params string[] args)
    {
        using var p = Process.Start(file, args);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}");
    }
}

/// <summary>Damage done to files on disk the way a bad disk or a stray process does it.</summary>
public static class Damage
{
    /// <summary>Inverts 16 bytes in the middle of the file: same size, a different hash.</summary>
    public static void Flip16Bytes(string file)
    {
        var bytes = File.ReadAllBytes(file);
        for (var i = 0; i < 16; i++) bytes[bytes.Length / 2 + i] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
    }
}

/// <summary>A test that runs a PostgreSQL server of its own (to stop it for real): the server's binaries, and root to run them as postgres.</summary>
public sealed class PostgresServerFactAttribute : Xunit.FactAttribute
{
    public PostgresServerFactAttribute()
    {
        if (PrivatePostgres.Binaries is null || Environment.UserName != "root")
            Skip = "needs PostgreSQL's server binaries (/usr/lib/postgresql/<v>/bin, `apt install postgresql`) and root";
    }
}

/// <summary>
/// A PostgreSQL server of the test's own on a free port, its data in a temp folder, so a test can stop and start it
/// without touching the server other tests share. Trust authentication on 127.0.0.1 only.
/// </summary>
public sealed class PrivatePostgres : IDisposable
{
    public static string? Binaries { get; } = Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).FirstOrDefault(b => File.Exists(Path.Combine(b, "initdb")))
        : null;

    readonly string dir = Directory.CreateTempSubdirectory("wesar-pg-").FullName;
    public int Port { get; } = FreePort.Next();
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database=postgres;Username=postgres";

    public PrivatePostgres()
    {
        AsPostgres("chown", "postgres", dir);
        AsPostgres(Path.Combine(Binaries!, "initdb"), "-D", Path.Combine(dir, "data"), "-A", "trust", "-U", "postgres");
        Start();
    }

    public void Start() => AsPostgres(Path.Combine(Binaries!, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-w", "-l", Path.Combine(dir, "log"),
        "-o", $"-p {Port} -k {dir} -c listen_addresses=127.0.0.1", "start");

    public void Stop() => AsPostgres(Path.Combine(Binaries!, "pg_ctl"), "-D", Path.Combine(dir, "data"), "-w", "-m", "fast", "stop");

    void AsPostgres(string file, params string[] args)
    {
        var psi = file == "chown" ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser", ["-u", "postgres", "--", file]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}\n{output}");
    }

    public void Dispose()
    {
        try { Stop(); } catch (InvalidOperationException) { }   // already stopped
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A new, empty PostgreSQL database on the $WESAR_TEST_POSTGRES server (its role needs CREATEDB; `.ci/run` grants
/// it), dropped on Dispose, so tests that share a persistence id never meet.
/// </summary>
public sealed class PostgresDatabase : IDisposable
{
    readonly string admin, name;

    public string ConnectionString { get; }

    public PostgresDatabase()
    {
        admin = PostgresFactAttribute.ConnectionString ?? throw new InvalidOperationException("WESAR_TEST_POSTGRES is not set");
        name = "wesar_t_" + Guid.NewGuid().ToString("N")[..12];
        Execute($"CREATE DATABASE {name}");
        ConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    void Execute(string sql)
    {
        using var c = new Npgsql.NpgsqlConnection(admin);
        c.Open();
        using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        Execute($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }
}

/// <summary>A TCP port nobody listens on right now (for nodes on 127.0.0.1).</summary>
public static class FreePort
{
    public static int Next()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>
/// Sweep files for tests: runs of a 2-layer model on the real corpus that take seconds each. Batches of 4 x 32 bytes
/// of the built-in corpus reach 12 std above the mean loss by themselves, so the z-score rule is set to k = 20:
/// poisoned batches (faults.poison-scale 50) are hundreds of std above, natural ones never fire it.
/// </summary>
public static class TestSweeps
{
    /// <param name="grid">The body of sweep.grid, e.g. <c>run.seed = [1, 2]</c>.</param>
    /// <param name="extra">HOCON appended last (it wins), e.g. faults or spike.rollback keys.</param>
    public static string Write(string dir, string name, string grid, int steps, string extra = "")
    {
        var file = Path.Combine(dir, name + ".conf");
        File.WriteAllText(file, $$"""
            sweep { name = "{{name}}", base = {{Q(TestEnv.TinyPreset)}}, grid { {{grid}} } }
            data.path = {{Q(TestEnv.Corpus)}}
            model { n-layer = 2, d-model = 64, block-size = 32 }
            train { steps = {{steps}}, batch-size = 4, eval-interval = {{steps / 2}}, eval-batches = 2, measure-interval = 0 }
            optim.warmup-steps = 5
            checkpoint { interval = 10, keep-last = 3 }
            spike.z-score { window = 16, warmup = 16, k = 20 }
            {{extra}}
            """);
        return file;
    }

    /// <summary>
    /// One run of the tiny preset that diverges by itself, with the early warning on: at lr 3e-2 wesar(he)'s (sigma² 4e-5) update ratios
    /// reach 0.3-0.4 in the first steps (healthy runs stay below 0.17, docs/RESULTS.md), so spike.risk raises at step 3
    /// and the divergence rule fires a few steps later, rolled back to the initialisation.
    /// </summary>
    public static string RiskBeforeDivergence(string dir)
    {
        var file = Path.Combine(dir, "risk.conf");
        File.WriteAllText(file, $$"""
            sweep { name = "risk", base = {{Q(TestEnv.TinyPreset)}}, grid { run.seed = [1337] } }
            data.path = {{Q(TestEnv.Corpus)}}
            init { scheme = "wesar(he)", sigma2 = 4e-5 }
            optim { lr = 3e-2, warmup-steps = 20 }
            train { steps = 12, eval-interval = 0, eval-batches = 4 }
            checkpoint.interval = 25
            spike.risk.enabled = on
            """);
        return file;
    }

    static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}

/// <summary>
/// A test in a real headless browser: Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it where it
/// can), driven by Playwright, which never downloads a browser of its own. Without it the test is reported as skipped.
/// </summary>
public sealed class ChromiumFactAttribute : Xunit.FactAttribute
{
    public const string Executable = "/usr/bin/chromium";

    /// <summary>
    /// Headless on a closed network: no GPU, no QUIC, and none of the background connections (updates, sync,
    /// first-run pages) that a machine without internet refuses.
    /// </summary>
    public static readonly IReadOnlyList<string> Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable)) Skip = $"needs Debian's chromium at {Executable} (apt-get install chromium; .ci/run installs it as root)";
    }
}

/// <summary>A <see cref="ChromiumFactAttribute"/> test over a PostgreSQL journal ($WESAR_TEST_POSTGRES): skipped without either.</summary>
public sealed class ChromiumPostgresFactAttribute : Xunit.FactAttribute
{
    public ChromiumPostgresFactAttribute()
    {
        Skip = new ChromiumFactAttribute().Skip
               ?? (PostgresFactAttribute.ConnectionString is null ? "set WESAR_TEST_POSTGRES to a PostgreSQL connection string (.ci/run does)" : null);
    }
}
