using System.CommandLine;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.Training.Loop;

namespace WeSaR.Cli;

/// <summary>The run and checkpoint that `export` and `sample` read: a run folder, or a run of the journal by name.</summary>
public static class SavedRuns
{
    public static Argument<string> Run() => new("run")
    {
        Description = "A run of the journal (<sweep-id>/<run-id>, a run id, or a unique prefix) or a run folder (what `wesar train` writes)",
    };

    public static readonly Option<long?> Step = new("--step") { Description = "The checkpoint at this step (default: the newest)" };

    /// <summary>
    /// Runs <paramref name="body"/> on the run's model at the chosen checkpoint (the model is disposed after). A name
    /// that is no folder and no run, or a step without a checkpoint, is bad input; a damaged checkpoint a failure.
    /// </summary>
    public static async Task<int> With(ParseResult r, string name, Func<SavedModel, string, int> body)
    {
        var dir = Directory.Exists(name) ? name : null;
        Func<TrainSettings> settings = () => SavedRun.Settings(dir!);
        if (dir is null)
        {
            if (Path.IsPathRooted(name) || name.StartsWith('.')) return GlobalOptions.Fail($"no run folder {name}");
            var found = await HistoryAccess.With(HistoryAccess.Source(r), r.GetValue(GlobalOptions.Workdir)!, async host =>
            {
                var (run, problem) = HistoryAccess.Find(await host.History.Runs(), name);
                if (run is null) return GlobalOptions.Fail(problem!);
                var spec = new RunSpec(new RunId(run.Run), run.Label, run.Config);
                // The journal's config, which also reads for runs whose folder predates the canonical config.conf.
                (dir, settings) = (spec.Dir(host.SharedDir, new SweepId(run.Sweep)), () => spec.Settings([]));
                return 0;
            });
            if (dir is null) return found;
        }
        var (checkpoint, why) = SavedRun.Find(dir, r.GetValue(Step));
        if (checkpoint is null) return GlobalOptions.Fail(why!);
        SavedModel saved;
        try { saved = SavedRun.Load(checkpoint, settings()); }
        catch (Exception e) when (e is InvalidDataException or IOException) { return GlobalOptions.Fail(e.Message, GlobalOptions.Failed); }
        catch (ConfigException e) { return GlobalOptions.Fail($"{dir}: {e.Message}", GlobalOptions.Failed); }
        using (saved) return body(saved, dir);
    }
}
