using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Persistence;
using WeSaR.Training.Config;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar bench journal`: see <see cref="JournalBenchmark"/>; this prints its table.</summary>
public static class JournalBench
{
    public static async Task<int> Run(int events, int singles, int repeats, string[] sets)
    {
        if (events < 1000 || singles < 100 || repeats < 1) return GlobalOptions.Fail("--events must be at least 1000, --singles at least 100 and --repeats at least 1");
        OrchestratorSettings settings;
        Akka.Configuration.Config config;
        try { (settings, config) = OrchestratorHost.LoadConfig(null, ["akka.loglevel=WARNING", .. sets]); }
        catch (ConfigException e) { return GlobalOptions.Fail(e.Message); }
        if (settings.Journal.Provider != JournalProvider.Sqlite
            && JournalAccess.Problem(settings.Journal.Provider, settings.Journal.PostgreSql, "in PostgreSQL") is { } problem)
            return GlobalOptions.Fail(problem);

        var figures = await JournalBenchmark.Run(settings, config, events, singles, repeats, Console.WriteLine);
        Console.WriteLine($"{settings.Journal.Provider} journal, median of {repeats}; ratio = time per event against the first row of its part");
        Console.WriteLine($"{"part",-9} {"what",-68} {"events",8} {"median ms",10} {"events/s",10} {"ratio",7}");
        foreach (var f in figures)
            Console.WriteLine($"{f.Part,-9} {f.What,-68} {f.Events,8:N0} {f.MedianMs,10:N1} {f.EventsPerSecond,10:N0} {(f.VsBaseline is { } x ? $"{x:F2}x" : "-"),7}");
        return 0;
    }
}
