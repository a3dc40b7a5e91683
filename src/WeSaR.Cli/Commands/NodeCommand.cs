using System.CommandLine;
using Akka.Actor;
using Akka.Cluster;
using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Runs;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar node`: one member of a training cluster, running until it is stopped (SIGTERM/Ctrl-C leave gracefully).</summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var roles = new Option<string>("--roles") { Description = "coordinator, trainer or both (comma-separated)", DefaultValueFactory = _ => "coordinator,trainer" };
        var seeds = new Option<string[]>("--seed")
        {
            Description = "A seed node as host:port (repeat for several; the same list on every node). The first seed may list itself to form the cluster",
            Required = true,
        };
        var port = new Option<int?>("--port") { Description = "Port to bind remoting to (default orchestrator.cluster.port, 4053)" };
        var metricsPort = new Option<int?>("--metrics-port")
        {
            Description = "Serve Prometheus metrics at http://127.0.0.1:<port>/metrics (orchestrator.metrics; docs/metrics.md)",
        };
        var hostname = new Option<string?>("--hostname") { Description = "Address to bind remoting to (default 127.0.0.1: not reachable from other machines)" };
        var publicHostname = new Option<string?>("--public-hostname") { Description = "Name other nodes use to reach this one (containers, NAT)" };
        var trusted = new Option<bool>("--trusted-network")
        {
            Description = "Only your own machines can reach --hostname (a private container network): run without TLS on a non-loopback address",
        };
        var config = new Option<string?>("--config", "-c") { Description = "HOCON orchestrator config (journal, slots, cluster, TLS)" };
        var set = new Option<string[]>("--set", "-s") { Description = "Override an orchestrator.* or akka.* key, e.g. --set orchestrator.slots.cuda=[\"cuda:0\"]" };
        var cmd = new Command("node", "Run a cluster node: trainers offer their device slots, coordinators host the sweep coordinator (a singleton that fails over)")
            { roles, seeds, port, metricsPort, hostname, publicHostname, trusted, config, set };
        cmd.SetAction((r, ct) =>
        {
            var sets = new List<string>(r.GetValue(set) ?? [])
            {
                $"orchestrator.cluster.roles=[{string.Join(",", r.GetValue(roles)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Json))}]",
                $"orchestrator.cluster.seeds=[{string.Join(",", r.GetValue(seeds)!.Select(Json))}]",
            };
            if (r.GetValue(port) is { } p) sets.Add($"orchestrator.cluster.port={p}");
            if (r.GetValue(metricsPort) is { } mp) sets.Add($"orchestrator.metrics.port={mp}");
            if (r.GetValue(hostname) is { } h) sets.Add($"orchestrator.cluster.hostname={Json(h)}");
            if (r.GetValue(publicHostname) is { } ph) sets.Add($"orchestrator.cluster.public-hostname={Json(ph)}");
            if (r.GetValue(trusted)) sets.Add("orchestrator.cluster.trusted-network=on");
            return Run(r.GetValue(config), sets, r.GetValue(GlobalOptions.Workdir)!);
        });
        return cmd;
    }

    static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    static async Task<int> Run(string? configFile, IReadOnlyList<string> sets, string workdir)
    {
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        try
        {
            (settings, config) = OrchestratorHost.LoadConfig(configFile, sets, cluster: true);
            if (settings.Cluster.Roles.Count == 0) return GlobalOptions.Fail("--roles: name at least one of coordinator, trainer");
            if (settings.Cluster.Roles.Contains(Roles.Trainer))
                foreach (var slot in settings.Slots) Trainer.ResolveDevice(slot.Device);
        }
        catch (Exception e) when (e is ConfigException or InvalidOperationException) { return GlobalOptions.Fail(e.Message); }
        if (settings.Cluster.Roles.Contains(Roles.Coordinator) && OrchestratorHost.JournalProblem(settings, workdir, readOnly: false) is { } problem)
            return GlobalOptions.Fail(problem, GlobalOptions.Failed);

        Logging.Start(workdir);
        try
        {
            OrchestratorHost started;
            try { started = OrchestratorHost.StartNode(settings, config, workdir); }
            catch (MetricsUnavailableException e) { return GlobalOptions.Fail(e.Message); }
            await using var host = started;
            var cluster = Akka.Cluster.Cluster.Get(host.System);
            var c = settings.Cluster;
            Console.WriteLine($"node {cluster.SelfAddress} (roles: {string.Join(", ", c.Roles)}; "
                              + (c.Roles.Contains(Roles.Trainer) ? $"slots: {string.Join(", ", settings.Slots.Select(s => $"{s.Name} on {s.Device}"))}" : "no slots")
                              + $"; journal: {settings.Journal.Provider.ToString().ToLowerInvariant()}; shared folder: {host.SharedDir}) joining {string.Join(", ", c.Seeds)}");
            if (settings.Metrics.Port > 0) Console.WriteLine($"metrics: http://{settings.Metrics.Hostname}:{settings.Metrics.Port}/metrics");
            if (settings.Journal.Provider == JournalProvider.Sqlite && c.Roles.Contains(Roles.Coordinator))
                Console.Error.WriteLine("warning: the journal is SQLite in this node's work folder; a coordinator fail-over to another node would not find it. Use PostgreSQL for clusters.");
            host.System.ActorOf(Props.Create(() => new NodePrinter()), "printer");
            var shutdown = CoordinatedShutdown.Get(host.System);
            GlobalOptions.OnCtrlC("leaving the cluster: runs checkpoint and commit, then move to other nodes",
                () => shutdown.Run(CoordinatedShutdown.ClusterLeavingReason.Instance));
            await host.System.WhenTerminated;
            var reason = shutdown.ShutdownReason;
            Console.WriteLine($"node {cluster.SelfAddress} stopped ({reason?.GetType().Name ?? "terminated"})");
            return reason is CoordinatedShutdown.ClusterDowningReason ? GlobalOptions.Failed : 0;
        }
        finally { Logging.Stop(); }
    }

    /// <summary>Membership changes and this node's runs, one line each.</summary>
    sealed class NodePrinter : ReceiveActor
    {
        readonly Dictionary<string, long> printed = [];

        public NodePrinter()
        {
            Receive<ClusterEvent.MemberUp>(m => Say($"member up: {m.Member.Address} [{string.Join(",", m.Member.Roles)}]"));
            Receive<ClusterEvent.UnreachableMember>(m => Say($"member unreachable: {m.Member.Address}"));
            Receive<ClusterEvent.ReachableMember>(m => Say($"member reachable again: {m.Member.Address}"));
            Receive<ClusterEvent.MemberRemoved>(m => Say($"member removed: {m.Member.Address} (was {m.PreviousStatus.ToString().ToLowerInvariant()})"));
            Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
            Receive<RunNote>(n => Say($"[{n.Sweep}/{n.Run}] {Wording.Of(n.Note)}"));
            Receive<RunProgress>(p =>
            {
                var key = $"{p.Sweep}/{p.Run}";
                if (!SweepPrinter.TenthDue(printed.TryGetValue(key, out var last) ? last : null, p.Line.Step, p.TotalSteps)) return;
                printed[key] = p.Line.Step;
                Say($"[{key}] step {p.Line.Step}/{p.TotalSteps} loss {p.Line.Loss:F4} | {p.Line.TokensPerS:N0} tok/s ETA {Tables.Duration(p.Eta.TotalSeconds)}");
            });
        }

        protected override void PreStart()
        {
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
            Context.System.EventStream.Subscribe(Self, typeof(RunNote));
            Context.System.EventStream.Subscribe(Self, typeof(RunProgress));
        }

        static void Say(string text) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {text}");
    }
}
