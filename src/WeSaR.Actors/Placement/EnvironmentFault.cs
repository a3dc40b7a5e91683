namespace WeSaR.Actors.Placement;

/// <summary>
/// Crashes that are the machine's, not the run's: a full disk or quota, a read-only or forbidden folder. Retrying
/// them only burns the restart budget; the sweep stops instead, with nothing lost, until someone fixes the cause.
/// </summary>
public static class EnvironmentFault
{
    // errno values .NET puts in an IOException's HResult on Linux and macOS.
    const int EACCES = 13, ENOSPC = 28, EROFS = 30, EDQUOT = 122;

    /// <summary>What is wrong with the machine (e.g. "the disk is full"), or null when the crash is the run's own.</summary>
    public static string? Of(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case UnauthorizedAccessException:
                    return "a folder is not writable";
                case IOException io when (io.HResult & 0xFFFF) is ENOSPC or EDQUOT || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return "the disk is full";
                case IOException io when (io.HResult & 0xFFFF) is EROFS or EACCES:
                    return "a folder is not writable";
            }
        }
        return null;
    }
}
