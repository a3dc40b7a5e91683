using System.Diagnostics;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;
using WeSaR.Training.Data;

namespace WeSaR.Training.Loop;

/// <summary>Seconds of each timed operation over the repeats, and the sizes involved.</summary>
public sealed record RestoreTimes(IReadOnlyList<double> Step, IReadOnlyList<double> Measured, IReadOnlyList<double> Keep, IReadOnlyList<double> Disk,
    IReadOnlyList<double> Memory, long Parameters, long CheckpointBytes, long MemoryBytes);

/// <summary>
/// `wesar bench rollback`: putting a run back at a checkpoint from disk (read, hash check, rebuild, as a rollback
/// beyond checkpoint.memory does) against from memory (copies in place), and what spike.replay's copy before every
/// step and a step that measures update ratios (the early warning's input) cost against a plain step, alternating
/// within each repeat.
/// </summary>
public static class RollbackBenchmark
{
    public static RestoreTimes Run(TrainSettings settings, TokenFile data, string scratch, int repeats)
    {
        using var trainer = new Trainer(settings, data);
        for (var s = 0; s < 3; s++) trainer.TrainStep(measure: false);   // allocate, and give AdamW moments
        var store = new CheckpointStore(scratch, new Retention(KeepLast: 1));
        var info = store.Save(trainer.Capture());
        using var kept = new MemoryState(host: true);
        trainer.Keep(kept);
        using var beforeStep = new MemoryState(host: false);
        var (step, measured, keep, disk, memory) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        for (var r = 0; r < repeats; r++)
        {
            keep.Add(Time(() => trainer.Keep(beforeStep)));
            step.Add(Time(() => trainer.TrainStep(measure: false)));   // moves the state away from the checkpoint
            measured.Add(Time(() => trainer.TrainStep(measure: true)));
            disk.Add(Time(() => trainer.Restore(CheckpointStore.Load(info.Path))));
            trainer.TrainStep(measure: false);
            memory.Add(Time(() => trainer.Restore(kept)));
        }
        var bytes = Directory.GetFiles(info.Path).Sum(f => new FileInfo(f).Length);
        return new RestoreTimes(step, measured, keep, disk, memory, trainer.ParameterCount, bytes, kept.Bytes);
    }

    static double Time(Action a)
    {
        var t = Stopwatch.GetTimestamp();
        a();
        return Stopwatch.GetElapsedTime(t).TotalSeconds;
    }
}
