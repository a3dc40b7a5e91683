namespace WeSaR.Actors.Runs;

/// <summary>
/// An exclusive lock file in a run's folder, held while a trainer trains it: after a fail-over the new
/// trainer waits for an old one on the same machine to let go, so two never write one run folder at once.
/// The OS releases it when the process dies.
/// </summary>
public static class RunLock
{
    public static IDisposable Acquire(string runDir, TimeSpan wait, CancellationToken ct)
    {
        Directory.CreateDirectory(runDir);
        var path = Path.Combine(runDir, ".trainer.lock");
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (DateTime.UtcNow < deadline) { ct.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200)); ct.ThrowIfCancellationRequested(); }
            catch (IOException) { throw new IOException($"run folder {runDir} is still in use by another trainer after {wait}"); }
        }
    }
}
