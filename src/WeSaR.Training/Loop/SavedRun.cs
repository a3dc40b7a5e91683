using WeSaR.Model;
using WeSaR.Model.Checkpoints;
using WeSaR.Training.Config;

namespace WeSaR.Training.Loop;

/// <summary>A run's model as saved at a checkpoint, rebuilt on the CPU in eval mode, with the run's tokenizer name.</summary>
public sealed record SavedModel(Gpt Model, long Step, string Tokenizer) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>Reads a run folder (what `wesar train` and sweep runs write) for export and sampling; writes nothing.</summary>
public static class SavedRun
{
    /// <summary>The checkpoint at <paramref name="step"/>, or the newest when it is null; else why there is none.</summary>
    public static (CheckpointInfo? Checkpoint, string? Problem) Pick(IReadOnlyList<CheckpointInfo> committed, long? step, string runDir)
    {
        if (committed.Count == 0) return (null, $"{runDir} has no committed checkpoint yet");
        if (step is null) return (committed[^1], null);
        return committed.FirstOrDefault(c => c.Step == step) is { } found
            ? (found, null)
            : (null, $"{runDir} has no checkpoint at step {step}; it has step {string.Join(", ", committed.Select(c => c.Step))}");
    }

    /// <summary><see cref="Pick"/> on a folder, which must be a run folder.</summary>
    public static (CheckpointInfo? Checkpoint, string? Problem) Find(string runDir, long? step)
    {
        if (!File.Exists(Path.Combine(runDir, TrainingRun.ConfigFile)))
            return (null, $"{runDir} is not a run folder (it has no {TrainingRun.ConfigFile})");
        var dir = Path.Combine(runDir, TrainingRun.CheckpointDir);
        return Pick(Directory.Exists(dir) ? CheckpointStore.Committed(dir) : [], step, runDir);
    }

    /// <summary>The run's settings from its folder's config.conf (throws <see cref="ConfigException"/> if it does not read).</summary>
    public static TrainSettings Settings(string runDir) => TrainSettings.Load(Path.Combine(runDir, TrainingRun.ConfigFile), []);

    /// <summary>
    /// Loads the checkpoint's weights into a model of its shape and the run's scheme. Throws
    /// <see cref="InvalidDataException"/> for a damaged checkpoint or one of another scheme.
    /// </summary>
    public static SavedModel Load(CheckpointInfo info, TrainSettings settings)
    {
        var checkpoint = CheckpointStore.Load(info.Path);
        var state = Trainer.State(checkpoint);
        if (state.Scheme != settings.Init.Scheme.Name)
            throw new InvalidDataException($"{info.Path} is a {state.Scheme} checkpoint, but the run's init.scheme is {settings.Init.Scheme.Name}");
        var model = Gpt.Seeded(state.Model, settings.Init.Scheme, state.Seed);   // its weights are replaced; the lock keeps its draws from other runs'
        StateBytes.Load(model, checkpoint.File(Trainer.ModelFile));
        model.eval();
        return new SavedModel(model, state.Step, settings.Data.Tokenizer);
    }
}
