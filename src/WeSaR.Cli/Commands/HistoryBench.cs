using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Persistence;
using WeSaR.Training.Config;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar bench history`: see <see cref="HistoryBenchmark"/>; this prints its table.</summary>
public static class HistoryBench
{
    public static async Task<int> Run(int events, int repeats, string[] sets)
    {
        if (events < 1000 || repeats < 1) return GlobalOptions.Fail("--events must be at least 1000 and --repeats at least 1");
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        try { (settings, config) = OrchestratorHost.LoadConfig(null, ["akka.loglevel=WARNING", .. sets]); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }

        var results = await HistoryBenchmark.Run(settings, config, events, repeats, Console.WriteLine);
        Console.WriteLine($"{"query",-58} {"rows",8} {"median ms",10} {"vs baseline",12}");
        foreach (var r in results)
            Console.WriteLine($"{r.Query,-58} {r.Rows,8:N0} {r.MedianMs,10:N0} {(r.VsBaseline is { } x ? $"{x,11:F2}x" : "-"),12}");
        return 0;
    }
}
