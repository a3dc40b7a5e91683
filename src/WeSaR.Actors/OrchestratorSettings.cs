using WeSaR.Training.Config;

namespace WeSaR.Actors;

/// <summary>One training slot: a device a trainer runs on, e.g. "cpu-0" on cpu or "cuda-1" on cuda:1.</summary>
public sealed record SlotSpec(string Name, string Device, int Threads);

/// <summary>What every slot on this machine shares: the folder for run folders and data, the restart budget, ask timeouts and the node's name.</summary>
public sealed record SlotContext(string SharedDir, RestartSettings Restarts, TimeSpan AskTimeout, string Node);

public enum JournalProvider { Sqlite, PostgreSql }

/// <summary>Cluster roles: coordinator nodes host the sweep singleton, trainer nodes offer their slots.</summary>
public static class Roles
{
    public const string Coordinator = "coordinator", Trainer = "trainer";
}

/// <summary>orchestrator.journal.*: where events live.</summary>
public sealed record JournalSettings(JournalProvider Provider, string SqliteFile, string PostgreSql, TimeSpan OutagePatience)
{
    /// <summary>The environment variable that holds the PostgreSQL connection string (secrets stay out of files).</summary>
    public const string PostgresVariable = "WESAR_POSTGRES";

    static readonly Dictionary<string, JournalProvider> Providers = new() { ["sqlite"] = JournalProvider.Sqlite, ["postgresql"] = JournalProvider.PostgreSql };

    public static JournalSettings From(ConfigReader r)
    {
        var connection = r.String("orchestrator.journal.postgresql");
        if (connection.Length == 0) connection = Environment.GetEnvironmentVariable(PostgresVariable) ?? "";
        var s = new JournalSettings(r.OneOf("orchestrator.journal.provider", Providers), r.String("orchestrator.journal.sqlite-file"), connection,
            OrchestratorSettings.Duration(r, "orchestrator.journal.outage-patience"));
        if (s.Provider == JournalProvider.PostgreSql && s.PostgreSql.Length == 0)
            r.Problem($"orchestrator.journal.provider is postgresql but no connection string is set: export {PostgresVariable}=\"Host=...;Database=...;Username=...;Password=...\"");
        return s;
    }
}

/// <summary>orchestrator.cluster.tls.*: TLS for remoting with a certificate every node shares (PKCS#12).</summary>
public sealed record TlsSettings(bool Enabled, string Certificate, string PasswordVariable, IReadOnlyList<string> TrustedThumbprints)
{
    public string Password => Environment.GetEnvironmentVariable(PasswordVariable) ?? "";

    public static TlsSettings From(ConfigReader r)
    {
        var s = new TlsSettings(r.Bool("orchestrator.cluster.tls.enabled"), r.String("orchestrator.cluster.tls.certificate"),
            r.String("orchestrator.cluster.tls.password-env"), r.StringList("orchestrator.cluster.tls.trusted-thumbprints"));
        if (s.Enabled && !File.Exists(s.Certificate))
            r.Problem($"orchestrator.cluster.tls.certificate: no certificate file '{s.Certificate}' (a .pfx with its private key)");
        return s;
    }
}

/// <summary>orchestrator.cluster.*: how this process joins a cluster (`wesar node`, `sweep run --cluster`).</summary>
/// <param name="Retry">How the sweep manager waits before it starts a stopped sweep coordinator, or itself, again.</param>
public sealed record ClusterSettings(string Hostname, int Port, string PublicHostname, IReadOnlyList<string> Seeds, IReadOnlyList<string> Roles,
    TlsSettings Tls, Backoff Retry)
{
    public const string SystemName = "wesar";

    /// <summary>This node as other nodes reach it: "public-hostname:port", or "hostname:port" without one.</summary>
    public string Node => $"{(PublicHostname.Length > 0 ? PublicHostname : Hostname)}:{Port}";

    /// <summary>"host:port" as an Akka address, with the TLS scheme when TLS is on.</summary>
    public string Address(string hostPort) => $"akka.{(Tls.Enabled ? "ssl.tcp" : "tcp")}://{SystemName}@{hostPort}";

    /// <summary>"host:port", as seeds and --cluster contacts are written.</summary>
    public static bool IsHostPort(string s) => System.Text.RegularExpressions.Regex.IsMatch(s, @"^[^:\s]+:\d+$");

    public static ClusterSettings From(ConfigReader r)
    {
        var s = new ClusterSettings(r.String("orchestrator.cluster.hostname"), r.Int("orchestrator.cluster.port", 0),
            r.String("orchestrator.cluster.public-hostname"), r.StringList("orchestrator.cluster.seeds"), r.StringList("orchestrator.cluster.roles"),
            TlsSettings.From(r), Backoff.From(r, "orchestrator.cluster.retry"));
        foreach (var seed in s.Seeds.Where(x => !IsHostPort(x)))
            r.Problem($"orchestrator.cluster.seeds: expected \"host:port\", got '{seed}'");
        foreach (var role in s.Roles.Where(x => x is not (Actors.Roles.Coordinator or Actors.Roles.Trainer)))
            r.Problem($"orchestrator.cluster.roles: unknown role '{role}' (use {Actors.Roles.Coordinator}, {Actors.Roles.Trainer})");
        // Without TLS, whoever reaches the port can join the cluster and have it run their sweeps on its machines.
        if (!IsLoopback(s.Hostname) && !s.Tls.Enabled && !r.Bool("orchestrator.cluster.trusted-network"))
            r.Problem($"orchestrator.cluster.hostname = {s.Hostname} can be reached from other machines and TLS is off: anyone who reaches port "
                      + $"{s.Port} could join this cluster. Turn on orchestrator.cluster.tls (deploy/README.md), or, on a network only your machines "
                      + "reach (a private container network), say so with --trusted-network (orchestrator.cluster.trusted-network = on)");
        return s;
    }

    static bool IsLoopback(string host) =>
        host == "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
}

/// <summary>A wait that doubles from <c>Min</c> with each try, up to <c>Max</c>.</summary>
public sealed record Backoff(TimeSpan Min, TimeSpan Max)
{
    /// <summary>The wait before try <paramref name="n"/> + 1 (0: the first retry waits <c>Min</c>).</summary>
    public TimeSpan Delay(int n) => TimeSpan.FromTicks(Math.Min(Max.Ticks, Min.Ticks * (1L << Math.Clamp(n, 0, 20))));

    internal static Backoff From(ConfigReader r, string path) =>
        new(OrchestratorSettings.Duration(r, path + ".min-backoff"), OrchestratorSettings.Duration(r, path + ".max-backoff"));
}

/// <summary>orchestrator.restarts.*: the retry budget of a crashing run.</summary>
public sealed record RestartSettings(int Max, Backoff Backoff);

/// <summary>orchestrator.metrics.*: where this process serves Prometheus metrics (port 0: it does not).</summary>
public sealed record MetricsSettings(string Hostname, int Port)
{
    public static MetricsSettings From(ConfigReader r)
    {
        var port = r.Int("orchestrator.metrics.port", 0);
        if (port > 65535) r.Problem($"orchestrator.metrics.port must be a TCP port (0 to 65535, 0: off), got {port}");
        return new MetricsSettings(r.String("orchestrator.metrics.hostname"), port);
    }
}

/// <summary>Everything the orchestrator reads from hocon/orchestrator.conf (and overrides).</summary>
/// <param name="SharedDir">Run folders and prepared data; empty: the work folder. Every node of a cluster sees it at one path.</param>
public sealed record OrchestratorSettings(JournalSettings Journal, IReadOnlyList<SlotSpec> Slots, RestartSettings Restarts,
    int SnapshotEvery, TimeSpan AskTimeout, string SharedDir, ClusterSettings Cluster, MetricsSettings Metrics)
{
    /// <summary>The folder run folders and prepared data live in, for a process whose work folder is <paramref name="workdir"/>.</summary>
    public string SharedDirFor(string workdir) => Path.GetFullPath(SharedDir.Length > 0 ? SharedDir : workdir);

    /// <summary>Reads and checks; throws <see cref="ConfigException"/> listing all problems, the reader's earlier ones first.</summary>
    public static OrchestratorSettings From(ConfigReader r)
    {
        var threads = r.Int("orchestrator.slots.cpu-threads", 1);
        var cuda = r.StringList("orchestrator.slots.cuda");
        foreach (var c in cuda.Where(c => !System.Text.RegularExpressions.Regex.IsMatch(c, @"^cuda:\d+$")))
            r.Problem($"orchestrator.slots.cuda: expected \"cuda:N\", got '{c}'");
        var cpu = r.Int("orchestrator.slots.cpu", 0);
        if (cpu == 0 && cuda.Count == 0) cpu = Math.Max(1, Environment.ProcessorCount / Math.Max(1, threads));
        var slots = Enumerable.Range(0, cpu).Select(i => new SlotSpec($"cpu-{i}", "cpu", threads))
            .Concat(cuda.Select(c => new SlotSpec(c.Replace(':', '-'), c, 0))).ToList();
        var s = new OrchestratorSettings(JournalSettings.From(r), slots,
            new RestartSettings(r.Int("orchestrator.restarts.max", 0), Backoff.From(r, "orchestrator.restarts")),
            r.Int("orchestrator.snapshot-every", 1), Duration(r, "orchestrator.ask-timeout"), r.String("orchestrator.shared-dir"),
            ClusterSettings.From(r), MetricsSettings.From(r));
        r.ThrowIfInvalid();
        return s;
    }

    internal static TimeSpan Duration(ConfigReader r, string path)
    {
        try { return r.Config.GetTimeSpan(path); }
        catch (Exception e) when (e is FormatException or Akka.Configuration.ConfigurationException)
        {
            r.Problem($"{path} must be a duration such as 5s, got '{r.Config.GetValue(path)}'");
            return TimeSpan.Zero;
        }
    }
}
