"""The one scheduler of tk's Ray work (curate's download + probe, render's objects): how Ray starts (`cluster`),
and a pool of actors that runs jobs with retries, a timeout, requeue on node loss and the no-room stop (`pool`)."""
