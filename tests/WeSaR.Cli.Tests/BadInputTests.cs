using System.Diagnostics;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// User mistakes in config files and --set values, as real processes: exit 2 at once with one clear line per
/// problem on stderr, no stack trace, and neither the work folder nor the run folder created.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    // Far past a prompt refusal; a parser that loops again fails here instead of eating the machine's memory.
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    string Work => Path.Combine(dir.Path, "work");
    string RunDir => Path.Combine(dir.Path, "run");

    string File(string text, string name = "bad.conf")
    {
        var path = Path.Combine(dir.Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs wesar and checks what every refusal has in common; returns stderr's problem lines.</summary>
    List<string> Refused(params string[] args)
    {
        var watch = Stopwatch.StartNew();
        var r = Wesar.Run(Patience, ["--workdir", Work, .. args]);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode} after {watch.Elapsed}\n{r.Stdout}\n{r.Stderr}");
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
        Assert.False(Directory.Exists(Work), "the work folder was created");
        Assert.False(Directory.Exists(RunDir), "the run folder was created");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        Assert.StartsWith("error: invalid configuration:", lines[0]);
        return lines.Count == 1 ? [lines[0]["error: invalid configuration:".Length..].Trim()] : lines.Skip(1).ToList();
    }

    List<string> Train(params string[] args) => Refused(["train", "--set", $"data.path={TestEnv.Corpus}", "--set", $"run.dir={RunDir}", .. args]);

    [Theory]
    [InlineData("model.n-layer = 2\ninit.scheme = [\"he\", \"small\"\noptim.lr = 3e-3\n", 2, "'[' opened here is never closed")]
    [InlineData("train.steps = 5\nmodel { n-layer = 2\n", 2, "'{' opened here is never closed")]
    [InlineData("train.steps = 5\nmodel.n-layer =\n", 2, "model.n-layer has no value")]
    [InlineData("run.name = \"half\n", 1, "'\"' opened here is never closed")]
    [InlineData("train.steps = 5\n]\n", 2, "unexpected ']'")]
    public void A_broken_train_file_is_refused_with_its_line(string text, int line, string message)
    {
        var file = File(text);
        Assert.Equal([$"{file}:{line}: {message}"], Train("--config", file));
    }

    [Theory]
    [InlineData("optim.lr=[3e-3", "--set optim.lr: '[' opened here is never closed")]
    [InlineData("train.stepz=3", "--set train.stepz: unknown key (did you mean train.steps?)")]
    [InlineData("model.n-layer=", "model.n-layer must be an integer, got ''")]
    [InlineData("optim.lr=[3e-3, 3e-2]", "optim.lr must be a number, got '[3e-3,3e-2]'")]
    public void A_bad_set_value_is_refused(string set, string message) => Assert.Equal([message], Train("--set", set));

    [Fact]
    public void An_unknown_key_no_longer_hides_the_other_problems()
    {
        var file = File("train.stepz = 3\ninit.scheme = bogus\noptim.lr = -1\n");
        var problems = Refused("train", "--config", file, "--set", $"run.dir={RunDir}", "--set", "data.path=");
        Assert.Equal(4, problems.Count);
        Assert.Contains($"{file}: train.stepz: unknown key (did you mean train.steps?)", problems);
        Assert.Contains(problems, p => p.StartsWith("init.scheme: unknown init scheme 'bogus'"));
        Assert.Contains("optim.lr must be positive, got -1", problems);
        Assert.Contains(problems, p => p.StartsWith("data.path is empty"));
    }

    string Sweep(string body) => File($$"""
        sweep { name = "bad", base = {{Q(TestEnv.TinyPreset)}}, grid { run.seed = [1, 2] } }
        data.path = {{Q(TestEnv.Corpus)}}
        {{body}}
        """, "sweep.conf");

    static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [Fact]
    public void A_sweep_file_with_an_unclosed_list_in_its_grid_is_refused_at_once()
    {
        var file = File("sweep {\n  name = \"bad\"\n  grid { init.scheme = [\"he\", \"small\" }\n}\noptim.lr = 3e-3\n", "sweep.conf");
        Assert.Equal([$"{file}:3: '[' opened here is never closed"], Refused("sweep", "run", file));
    }

    [Fact]
    public void A_list_outside_the_grid_says_where_lists_belong() =>
        Assert.Equal([$"{Path.Combine(dir.Path, "sweep.conf")}: optim.lr is a list, and lists belong in sweep.grid: sweep.grid {{ optim.lr = [...] }}"],
            Refused("sweep", "run", Sweep("optim.lr = [3e-3, 3e-2]")));

    [Fact]
    public void A_sweep_file_key_without_a_value_names_its_line() =>
        Assert.Equal([$"{Path.Combine(dir.Path, "sweep.conf")}:4: model.n-layer has no value"], Refused("sweep", "run", Sweep("train.steps = 5\nmodel.n-layer =")));

    [Theory]
    [InlineData("orchestrator.slots.cpu=-1", "orchestrator.slots.cpu must be at least 0, got -1")]
    [InlineData("orchestrator.slots.cpus=2", "--set orchestrator.slots.cpus: unknown key (did you mean orchestrator.slots.cpu?)")]
    [InlineData("orchestrator.restarts.max=[1", "--set orchestrator.restarts.max: '[' opened here is never closed")]
    public void A_bad_orchestrator_value_is_refused(string set, string message) =>
        Assert.Equal([message], Refused("sweep", "run", Sweep(""), "--set", set));

    [Fact]
    public void An_unknown_sweep_grid_key_suggests_the_nearest_one() =>
        Assert.Equal([$"{Path.Combine(dir.Path, "sweep.conf")}: sweep.grid.optim.lrr: unknown key (did you mean sweep.grid.optim.lr?)"],
            Refused("sweep", "run", Sweep("sweep.grid.optim.lrr = [1e-3]")));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("192.168.1.10")]
    public void A_node_reachable_from_other_machines_without_tls_refuses_to_start_unless_the_network_is_trusted(string hostname)
    {
        var port = FreePort.Next().ToString();
        string[] node = ["node", "--roles", "trainer", "--seed", $"127.0.0.1:{port}", "--port", port, "--hostname", hostname];
        var line = Assert.Single(Refused(node));
        Assert.Contains($"orchestrator.cluster.hostname = {hostname} can be reached from other machines and TLS is off", line);
        Assert.Contains("--trusted-network", line);
        Assert.Single(Refused(["sweep", "run", Sweep(""), "--cluster", $"127.0.0.1:{port}", "--set", $"orchestrator.cluster.hostname={hostname}"]));
        if (hostname != "0.0.0.0") return;   // binding a LAN address needs that address on this machine
        using var trusted = new RunningWesar(["--workdir", Work, .. node, "--trusted-network"]);
        trusted.WaitFor(l => l.Contains($"node akka.tcp://wesar@0.0.0.0:{port}"), Patience);
    }
}
