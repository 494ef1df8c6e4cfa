#!/usr/bin/perl
# run_docs_commands.pl: runs the commands the documentation shows and compares what they
# print with what the documentation quotes (docs/README.md of tests/docs says how to mark
# them). Usage: run_docs_commands.pl BUILD_DIR SOURCE_DIR [FILE.md...]; without files,
# README.md and docs/*.md.
#
# A ```console block holds commands, each on a line starting "$ " (a line ending in "\"
# continues it), and after each the output it prints, stdout and stderr together. In the
# quoted output a line "..." stands for any number of lines (none too), and "[...]" inside
# a line for any text on that line (a time, a path, a duration). Every file runs in a fresh
# directory holding the demo data (data/demo), strategies/, instructions/ and
# docs/examples/ from the source tree and build/ (the build directory), with the build directory first on the
# PATH, so `apex-host ...` and `./build/apex-host ...` both run the binary under test.
# The blocks of one file run in order in that directory, so a later block sees the store
# an earlier one wrote. perl-base only (Essential on Debian): no modules beyond it.
use strict;
use warnings;

my ($build, $source, @files) = @ARGV;
die "usage: run_docs_commands.pl BUILD_DIR SOURCE_DIR [FILE.md...]\n" unless $build && $source;
@files = ("$source/README.md", sort glob("$source/docs/*.md")) unless @files;
my $work = `mktemp -d /tmp/apex-docs-XXXXXX`;
chomp $work;
my ($checked, @failures) = (0);

sub sh_quote { my $s = shift; $s =~ s/'/'\\''/g; return "'$s'"; }

# A quoted line as a regular expression: "[...]" matches anything, the rest literally.
sub line_re {
    my @parts = split /\[\.\.\.\]/, $_[0], -1;
    return '^' . join('.*', map { quotemeta } @parts) . '$';
}

# Whether the actual lines match the expected ones ("..." lines match any run of lines).
sub matches {
    my ($exp, $act, $i, $j) = @_;
    while ($i < @$exp) {
        if ($exp->[$i] eq '...') {
            for my $k ($j .. scalar @$act) {
                return 1 if matches($exp, $act, $i + 1, $k);
            }
            return 0;
        }
        return 0 if $j >= @$act || $act->[$j] !~ line_re($exp->[$i]);
        $i++;
        $j++;
    }
    return $j == @$act;
}

sub setup_dir {
    my $dir = shift;
    my $q = sh_quote($dir);
    system("rm -rf $q && mkdir -p $q/docs && cp -r " . sh_quote("$source/strategies") . " "
           . sh_quote("$source/instructions") . " $q/ && cp -r "
           . sh_quote("$source/docs/examples") . " $q/docs/ && ln -s " . sh_quote($build)
           . " $q/build && cd $q && " . sh_quote("$build/apex-datagen")
           . " data/demo >/dev/null") == 0
        or die "run_docs_commands: cannot prepare $dir\n";
}

for my $file (@files) {
    open(my $fh, '<', $file) or die "run_docs_commands: $file: $!\n";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    (my $name = $file) =~ s{^\Q$source\E/}{};
    my $dir = "$work/" . ($name =~ s{[^A-Za-z0-9]}{_}gr);
    my $prepared = 0;
    my ($in, @cmds) = (0);
    for (my $n = 0; $n < @lines; $n++) {
        my $l = $lines[$n];
        if (!$in) {
            $in = 1 if $l =~ /^```console\s*$/;
            next;
        }
        if ($l =~ /^```\s*$/) {
            $in = 0;
            next;
        }
        if ($l =~ /^\$ (.*)$/) {
            my ($cmd, $at) = ($1, $n + 1);
            while ($cmd =~ s/\\$// && $n + 1 < @lines) {
                $cmd .= "\n" . $lines[++$n];
            }
            push @cmds, {cmd => $cmd, line => $at, out => []};
        } elsif (@cmds) {
            push @{$cmds[-1]{out}}, $l;
        }
    }
    for my $c (@cmds) {
        if (!$prepared) {
            setup_dir($dir);
            $prepared = 1;
        }
        my $script = "cd " . sh_quote($dir) . " && export PATH=" . sh_quote($build)
            . ":\$PATH && ( " . $c->{cmd} . " ) 2>&1";
        my $got = `bash -c ${\ sh_quote($script)}`;
        my @act = split /\n/, $got, -1;
        pop @act if @act && $act[-1] eq '';
        $checked++;
        next if matches($c->{out}, \@act, 0, 0);
        my $exp_file = "$work/expected";
        my $act_file = "$work/actual";
        open(my $e, '>', $exp_file) or die;
        print $e map { "$_\n" } @{$c->{out}};
        close $e;
        open(my $a, '>', $act_file) or die;
        print $a map { "$_\n" } @act;
        close $a;
        my $diff = `diff -u --label "$name:$c->{line} (quoted)" --label "printed" $exp_file $act_file`;
        push @failures, "$name:$c->{line}: \$ $c->{cmd}\n$diff";
    }
}
system("rm -rf " . sh_quote($work));
print STDERR "$_\n" for @failures;
printf "%d command(s) from the documentation run, %d printed what it quotes, %d did not\n",
    $checked, $checked - @failures, scalar @failures;
if (@failures) {
    print "(quoted output may use \"...\" for any lines and \"[...]\" for any text in a line)\n";
    exit 1;
}
exit 0;
