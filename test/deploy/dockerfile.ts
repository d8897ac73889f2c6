// A small Dockerfile reader for tests: joins continuation lines, drops comments and splits the
// file into build stages of instructions. It does not expand ARGs or validate instructions.

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  /** The `AS` name, or the stage index as text. */
  name: string;
  from: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim().startsWith('#') || line.trim() === '')) continue;
    if (line.trim().startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  if (current !== '') logical.push(current.trim());

  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`not an instruction: ${line}`);
    const op = match[1]!.toUpperCase();
    const rest = match[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`bad FROM: ${line}`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
    } else if (stages.length === 0) {
      args.push({ op, args: rest });
    } else {
      stages.at(-1)!.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** The JSON (exec) form of CMD / ENTRYPOINT / HEALTHCHECK CMD arguments. */
export function execForm(args: string): string[] {
  const start = args.indexOf('[');
  if (start < 0) throw new Error(`not in exec form: ${args}`);
  return JSON.parse(args.slice(start)) as string[];
}
