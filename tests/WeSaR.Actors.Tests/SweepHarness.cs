using System.Text.Json;
using Akka.Actor;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>Small sweeps on the real corpus, run in-process against a real journal.</summary>
public static class SweepHarness
{
    /// <summary>Writes a sweep file of 40-step runs of a 2-layer model; <paramref name="extra"/> is appended HOCON.</summary>
    public static string Write(string dir, string name, string extra = "", string grid = "init.scheme = [\"wesar(he)\"]")
    {
        var file = Path.Combine(dir, name + ".conf");
        File.WriteAllText(file, $$"""
            sweep { name = "{{name}}", base = {{Q(TestEnv.TinyPreset)}}, max-restarts = 2, grid { {{grid}} } }
            data.path = {{Q(TestEnv.Corpus)}}
            model { n-layer = 2, d-model = 64, block-size = 32 }
            train { steps = 40, batch-size = 4, eval-interval = 20, eval-batches = 2, measure-interval = 0 }
            optim.warmup-steps = 5
            checkpoint { interval = 10, keep-last = 3 }
            spike.z-score { window = 16, warmup = 16, k = 6 }
            spike.rollback.margin = 5
            {{extra}}
            """);
        return file;
    }

    public static string Q(string s) => JsonSerializer.Serialize(s);

    public static (OrchestratorSettings, Akka.Configuration.Config) Config(params string[] sets) =>
        OrchestratorHost.LoadConfig(null, ["orchestrator.restarts.min-backoff=100ms", "orchestrator.slots.cpu=2", .. sets]);

    /// <summary>Runs the sweep to its end in a fresh ActorSystem; returns its final state and every journal event.</summary>
    public static async Task<(SweepState State, List<ISweepEvent> Events)> Run(string workdir, string file, params string[] sets)
    {
        var (settings, config) = Config(sets);
        var definition = SweepDefinition.Load(file, [], settings.Restarts.Max);
        await using var host = OrchestratorHost.Start(settings, config, workdir);
        var reply = await host.Coordinator(definition.Id).Ask<object>(new Begin(definition), TimeSpan.FromMinutes(5));
        var finished = Assert.IsType<SweepFinished>(reply);
        return (finished.State, await host.History.Events(definition.Id));
    }
}
