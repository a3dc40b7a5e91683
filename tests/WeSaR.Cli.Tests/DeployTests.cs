using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.Actors.Hosting;
using WeSaR.TestSupport;
using WeSaR.Training.Config;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace WeSaR.Cli.Tests;

/// <summary>
/// deploy/ checked as far as a machine without Docker or Kubernetes allows: every file parses, every command the
/// containers and the systemd unit run is accepted by this build's `wesar` parser, and the names the files use
/// for each other (image, seeds, services, secrets, volumes) agree.
/// </summary>
public sealed class DeployTests
{
    static readonly string Deploy = Path.Combine(TestEnv.RepoRoot, "deploy");
    const string Image = "wesar:latest";

    // The image's ENTRYPOINT after "dotnet /app/wesar.dll": what every container's command is appended to.
    static readonly string[] EntryArgs = DockerEntrypoint()[2..];

    static string[] DockerEntrypoint()
    {
        var line = File.ReadLines(Path.Combine(Deploy, "Dockerfile")).Single(l => l.StartsWith("ENTRYPOINT "));
        var entry = JsonSerializer.Deserialize<string[]>(line["ENTRYPOINT ".Length..])!;
        Assert.Equal(["dotnet", "/app/wesar.dll"], entry[..2]);
        return entry;
    }

    static List<Dictionary<object, object>> LoadYaml(string file)
    {
        using var reader = new StreamReader(file);
        var parser = new MergingParser(new Parser(reader));
        var deserializer = new DeserializerBuilder().Build();
        var docs = new List<Dictionary<object, object>>();
        parser.Consume<YamlDotNet.Core.Events.StreamStart>();
        while (!parser.Accept<YamlDotNet.Core.Events.StreamEnd>(out _))
            docs.Add(deserializer.Deserialize<Dictionary<object, object>>(parser));
        return docs;
    }

    static Dictionary<object, object> Map(object o) => Assert.IsType<Dictionary<object, object>>(o);

    static List<string> Strings(object o) => Assert.IsType<List<object>>(o).Select(x => Assert.IsType<string>(x)).ToList();

    static object At(object o, params string[] path) => path.Aggregate(o, (node, key) => Map(node)[key]);

    /// <summary>Parses "wesar &lt;args&gt;" with the real command tree; fails with the parser's errors.</summary>
    static System.CommandLine.ParseResult AssertParses(IEnumerable<string> args, string where)
    {
        var all = EntryArgs.Concat(args).ToArray();
        var result = Program.Root().Parse(all);
        Assert.True(result.Errors.Count == 0, $"{where}: wesar {string.Join(' ', all)}\n" + string.Join("\n", result.Errors.Select(e => e.Message)));
        return result;
    }

    static string Option(IReadOnlyList<string> args, string name) => args[args.ToList().IndexOf(name) + 1];

    [Fact]
    public void The_compose_file_runs_a_postgres_a_coordinator_and_gpu_trainers_with_commands_this_build_accepts()
    {
        // The tag the Dockerfile and deploy/README.md build is the image every file runs.
        Assert.Contains($"-t {Image} ", File.ReadAllText(Path.Combine(Deploy, "Dockerfile")));
        Assert.Contains($"-t {Image} ", File.ReadAllText(Path.Combine(Deploy, "README.md")));
        Assert.True(Directory.Exists(Path.Combine(TestEnv.RepoRoot, "src", "WeSaR.Cli")), "the Dockerfile publishes src/WeSaR.Cli");
        var compose = LoadYaml(Path.Combine(Deploy, "docker-compose.yml")).Single();
        var services = Map(compose["services"]);
        Assert.Equal("postgres:15", At(services, "postgres", "image"));

        var wesar = services.Where(s => Map(s.Value).GetValueOrDefault("image") as string == Image).ToDictionary(s => (string)s.Key, s => Map(s.Value));
        Assert.Contains("coordinator", wesar.Keys);
        var trainers = wesar.Where(s => s.Key.StartsWith("trainer-")).ToList();
        Assert.True(trainers.Count >= 2, "at least two trainers");
        foreach (var (name, service) in wesar)
        {
            var command = Strings(service["command"]);
            AssertParses(command, $"compose service {name}");
            // The journal's password comes from the environment, never from the file.
            Assert.Contains("Password=${WESAR_DB_PASSWORD", (string)At(service, "environment", "WESAR_POSTGRES"));
            Assert.Contains("shared:/shared", Strings(service["volumes"]));
            if (command[0] != "node") continue;
            Assert.Equal("coordinator:4053", Option(command, "--seed"));
            Assert.Equal(service["hostname"], Option(command, "--public-hostname"));
            Assert.Contains("orchestrator.shared-dir=/shared", command);
        }
        Assert.Equal("coordinator", At(services, "coordinator", "hostname"));
        var gpus = new HashSet<string>();
        foreach (var (name, service) in trainers)
        {
            Assert.Equal("trainer", Option(Strings(service["command"]), "--roles"));
            var device = Map(Assert.IsType<List<object>>(At(service, "deploy", "resources", "reservations", "devices")).Single());
            Assert.Equal("nvidia", device["driver"]);
            Assert.Contains("gpu", Strings(device["capabilities"]));
            Assert.True(gpus.Add(Strings(device["device_ids"]).Single()), $"{name} reserves a GPU another trainer has");
        }
    }

    [Fact]
    public void The_kubernetes_manifests_agree_on_seeds_services_secrets_volumes_and_commands()
    {
        var docs = Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml").SelectMany(LoadYaml).ToList();
        var byKind = docs.ToLookup(d => (string)d["kind"]);
        var services = byKind["Service"].Select(d => (string)At(d, "metadata", "name")).ToHashSet();
        var claims = byKind["PersistentVolumeClaim"].Select(d => (string)At(d, "metadata", "name")).ToHashSet();
        var secrets = byKind["Secret"].ToDictionary(d => (string)At(d, "metadata", "name"), d => Map(d["stringData"]).Keys.Cast<string>().ToHashSet());
        var sets = byKind["StatefulSet"].ToDictionary(d => (string)At(d, "metadata", "name"));
        Assert.Equal(["wesar-coordinator", "wesar-trainer"], sets.Keys.Order());

        var coordinators = sets["wesar-coordinator"];
        var seedService = (string)At(coordinators, "spec", "serviceName");
        var seeds = Enumerable.Range(0, Convert.ToInt32(At(coordinators, "spec", "replicas"))).Select(i => $"wesar-coordinator-{i}.{seedService}:4053").ToList();
        Assert.True(seeds.Count >= 2, "two coordinators, so the singleton can move");

        foreach (var (name, set) in sets)
        {
            Assert.Contains((string)At(set, "spec", "serviceName"), services);
            var pod = At(set, "spec", "template", "spec");
            var container = Map(Assert.IsType<List<object>>(At(pod, "containers")).Single());
            Assert.Equal(Image, container["image"]);
            var env = Assert.IsType<List<object>>(container["env"]).Select(Map).ToDictionary(e => (string)e["name"]);
            var secret = Map(At(env["WESAR_POSTGRES"], "valueFrom", "secretKeyRef"));
            Assert.Contains((string)secret["key"], secrets[(string)secret["name"]]);
            Assert.Equal("metadata.name", At(env["POD_NAME"], "valueFrom", "fieldRef", "fieldPath"));

            // Kubernetes expands $(POD_NAME) in args; the result must parse and name this pod under its service.
            var args = Strings(container["args"]).Select(a => a.Replace("$(POD_NAME)", $"{name}-0")).ToList();
            var parsed = AssertParses(args, $"StatefulSet {name}");
            Assert.Equal(seeds, args.Select((a, i) => (a, i)).Where(x => x.a == "--seed").Select(x => args[x.i + 1]));
            Assert.Equal($"{name}-0.{At(set, "spec", "serviceName")}", Option(args, "--public-hostname"));
            Assert.Contains("orchestrator.journal.provider=postgresql", args);
            var volume = Map(Assert.IsType<List<object>>(At(pod, "volumes")).Single());
            Assert.Contains((string)At(volume, "persistentVolumeClaim", "claimName"), claims);
            Assert.Empty(parsed.UnmatchedTokens);
        }
        var trainer = Map(Assert.IsType<List<object>>(At(sets["wesar-trainer"], "spec", "template", "spec", "containers")).Single());
        Assert.Equal("1", At(trainer, "resources", "limits", "nvidia.com/gpu").ToString());
        Assert.Equal("trainer", Option(Strings(trainer["args"]), "--roles"));
        Assert.True(Convert.ToInt32(At(sets["wesar-trainer"], "spec", "template", "spec", "terminationGracePeriodSeconds")) > 300,
            "trainer pods must outlive the 300 s checkpoint-on-leave phase");
    }

    [Fact]
    public void The_systemd_unit_runs_a_node_command_this_build_accepts_with_the_example_cluster_config()
    {
        var unit = Path.Combine(Deploy, "systemd", "wesar-node.service");
        var exec = File.ReadLines(unit).Single(l => l.StartsWith("ExecStart="))["ExecStart=".Length..].Split(' ');
        Assert.Equal(["/usr/bin/dotnet", "/opt/wesar/wesar.dll"], exec[..2]);
        var sample = new Dictionary<string, string> { ["WESAR_ROLES"] = "trainer", ["WESAR_SEED"] = "10.0.0.10:4053", ["WESAR_HOSTNAME"] = "10.0.0.21" };
        var args = exec[2..].Select(a => Regex.Replace(a, @"\$\{(\w+)\}", m => sample[m.Groups[1].Value])).ToList();
        Assert.True(Program.Root().Parse(args.ToArray()).Errors.Count == 0, string.Join(' ', args));
        Assert.Equal("/etc/wesar/orchestrator.conf", Option(args, "--config"));

        // The example config is valid but for the certificate, which only exists on a real node (the connection
        // string stands in for the node's WESAR_POSTGRES).
        var e = Assert.Throws<ConfigException>(() => OrchestratorHost.LoadConfig(Path.Combine(Deploy, "orchestrator.cluster.conf"),
            ["orchestrator.journal.postgresql=\"Host=db;Database=wesar\""], cluster: true));
        Assert.All(e.Problems, p => Assert.Contains("orchestrator.cluster.tls.certificate", p));

        if (File.Exists("/usr/bin/systemd-analyze") && File.Exists("/usr/bin/dotnet"))
        {
            var verify = Process.Start(new ProcessStartInfo("/usr/bin/systemd-analyze", ["verify", unit]) { RedirectStandardError = true })!;
            var errors = verify.StandardError.ReadToEnd();
            verify.WaitForExit();
            Assert.True(verify.ExitCode == 0, errors);
        }
    }
}
