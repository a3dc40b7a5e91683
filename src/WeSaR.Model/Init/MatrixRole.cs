namespace WeSaR.Model.Init;

/// <summary>What a weight matrix does; init schemes assign a target std per role.</summary>
public enum MatrixRole { Embedding, Position, Query, Key, Value, AttnOut, FfnUp, FfnDown, Head }

/// <summary>The shape facts a scheme's formulas may use: width d, depth N and the layer (0-based, -1 outside blocks).</summary>
public readonly record struct MatrixSite(MatrixRole Role, int D, int N, int Layer);
