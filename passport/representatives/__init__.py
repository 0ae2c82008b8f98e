"""Representatives: people who act for a passport holder through their own account, `view`
or `help`, appointed by the person or (legal ones) recorded by a worker and approved by a DPO.
What they may do is decided at the consent decision point (`BasisKind.REPRESENTATIVE`)."""
